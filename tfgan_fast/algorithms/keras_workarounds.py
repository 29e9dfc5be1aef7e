"""`FitModel`: `keras.Model` with the two overrides our trainer needs under tf.distribute.

Both replace private parts of Keras 3's `fit` (checked on Keras 3.15), which is why they live
here, apart from the training step, and why each says what breaks without it:

- `_maybe_symbolic_build`: Keras builds the model at the start of `fit` by taking a batch of the
  data and all-reducing it across replicas. `GANTrainer.build_all` has built every variable
  already, and under MultiWorkerMirroredStrategy that all-reduce of a one-replica `PerReplica`
  fails ("Attempt to convert a value (PerReplica...) to a Tensor").
- `make_train_function`: Keras runs `steps_per_execution = K > 1` as a `tf.while_loop` over
  `iterator.get_next_as_optional()` inside `tf.cond`s, which fails under MirroredStrategy ("You
  must feed a value for placeholder tensor", keras-team/keras#19246) and loses the data's static
  batch size; and under MultiWorkerMirroredStrategy its K = 1 function concatenates the replicas'
  logs across workers, which fails on scalar logs.
"""

import keras
import tensorflow as tf


class FitModel(keras.Model):
    """A `keras.Model` whose `fit` works with our distributed set-up (see the module's doc)."""

    def set_steps_per_execution(self, k):
        """Runs `k` iterations per call of the training function from the next `fit` on (traced
        anew there). The trainer takes its first value as a constructor argument; a run lowers
        it with this once it knows where it starts (after the restore, which may fall back to an
        older checkpoint) and its callbacks' intervals
        (`run.experiment.effective_steps_per_execution`)."""
        self.steps_per_execution = int(k)
        self.train_function = None

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras' build at the start of `fit`, minus its peek at the data once the model is
        built (`GANTrainer.build_all`): that peek all-reduces a batch across replicas, which
        fails under MultiWorkerMirroredStrategy."""
        if not self.built:
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
            return
        with self.distribute_strategy.scope():
            self._symbolic_build(iterator=None, data_batch=None)

    def make_train_function(self, force=False):
        """Keras' train function; with `steps_per_execution = K > 1` (or several workers), ours:
        K iterations per call.

        Our data sets repeat forever and `fit` asks for a multiple of K iterations (the run
        lowers K to divide its length, `run.experiment.effective_steps_per_execution`), so a
        plain `tf.range` loop of `strategy.run` on `next(iterator)` suffices, as in TF-Keras.
        It returns the last iteration's logs (means over replicas).
        """
        k = self.steps_per_execution
        strategy = self.distribute_strategy
        # Under MultiWorkerMirroredStrategy Keras' own K = 1 function concatenates the
        # replicas' logs across workers, which fails on scalar logs: ours means them.
        multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        if self.run_eagerly or (k == 1 and not multi_worker):
            return super().make_train_function(force)
        if self.train_function is not None and not force:
            return self.train_function

        def one_step(data):
            outputs = strategy.run(self.train_step, args=(data,))
            if strategy.num_replicas_in_sync == 1:
                return outputs
            return tf.nest.map_structure(
                lambda v: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None), outputs)

        if self.jit_compile:
            one_step = tf.function(one_step, jit_compile=True)

        @tf.function(reduce_retracing=True)
        def multi_step(iterator):
            outputs = one_step(next(iterator))
            for _ in tf.range(k - 1):
                outputs = one_step(next(iterator))
            return outputs

        self.train_function = multi_step
        return multi_step
