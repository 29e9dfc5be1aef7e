"""`GANTrainer`: the one training loop every algorithm shares.

`train_step` calls `discriminator_step` `n_disc` times and `generator_step` once, then advances the
iteration counter; an algorithm overrides only those steps (and, if it keeps state such as
FastGAN's perturbation, `build_state` / `initialize_state` / `checkpoint_items`).

Randomness has one owner: every random tensor of a step is drawn *statelessly* from
`(seed, iteration, salt)` for the global batch and sliced per replica, so a step is reproducible,
a resumed run continues the same random stream, and the result does not depend on the number of
replicas.
"""

import gin
import keras
import tensorflow as tf

from tfgan_fast import distribute

# Salts that keep the random streams of one iteration apart.
SALT_D_LATENTS = 1
SALT_D_LABELS = 2
SALT_G_LATENTS = 3
SALT_G_LABELS = 4
SALT_ATTACK_INIT = 5
SALT_STATE_INIT = 15
_SALTS_PER_ITERATION = 16


@gin.register
def normal_latents(shape, seed):
    """`z ~ N(0, I)` (FastGAN, SNGAN)."""
    return tf.random.stateless_normal(shape, seed=seed)


@gin.register
def uniform_latents(shape, seed):
    """`z ~ U(-1, 1)` (LOGAN)."""
    return tf.random.stateless_uniform(shape, seed=seed, minval=-1.0, maxval=1.0)


@gin.configurable(denylist=["iteration"])
def make_optimizer(iteration, optimizer_cls=keras.optimizers.Adam, schedule=None,
                   learning_rate=2e-4, beta_1=0.0, beta_2=0.9, epsilon=1e-8):
    """An optimiser whose learning rate follows `schedule(iteration)`.

    Args:
        iteration: the trainer's iteration variable (schedules count iterations, not optimiser
            steps: FastGAN's D optimiser steps M times per iteration).
        optimizer_cls: a Keras optimiser class taking `beta_1`, `beta_2`, `epsilon` (Adam).
        schedule: a `LearningRateSchedule` of the iteration, or None for a constant
            `learning_rate`.
        learning_rate: used when `schedule` is None.
        beta_1, beta_2, epsilon: Adam's; Zhong et al. 2020 uses (0, 0.9), PyTorch's epsilon 1e-8.
    """
    lr = (lambda: schedule(iteration)) if schedule is not None else learning_rate
    return optimizer_cls(learning_rate=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)


class GANTrainer(keras.Model):
    """Class-conditional (or unconditional, `num_classes=0`) GAN trainer.

    Args:
        generator: `G(z, labels, training)` -> images `[B, H, W, C]` in [-1, 1].
        discriminator: `D(images, labels, training)` -> dict with `"logits"` `[B]` and, for
            auxiliary-classifier heads, `"class_logits"` `[B, C]`.
        z_dim: latent size.
        num_classes: C; 0 for unconditional models (labels are then ignored).
        n_disc: discriminator steps per iteration; each consumes its own real batch.
        seed: owner of every random tensor drawn by the trainer.
        latent_sampler: `fn(shape, seed) -> z`.
    """

    def __init__(self, generator, discriminator, z_dim, num_classes, n_disc=1, seed=0,
                 latent_sampler=normal_latents, **kwargs):
        super().__init__(**kwargs)
        if n_disc < 1:
            raise ValueError(f"n_disc must be >= 1, got {n_disc}")
        self.generator = generator
        self.discriminator = discriminator
        self.z_dim = int(z_dim)
        self.num_classes = int(num_classes)
        self.n_disc = int(n_disc)
        self.seed = int(seed)
        self.latent_sampler = latent_sampler
        self.iteration = self.add_weight(
            name="iteration", shape=(), dtype="int64", initializer="zeros", trainable=False,
            aggregation="only_first_replica")
        self.g_optimizer = None
        self.d_optimizer = None
        # An exponential moving average of G (`tfgan_fast.ema.GeneratorEMA`), or None.
        self.ema = None
        # Which of the n_disc D steps is being traced (0 outside them): each D step of an
        # iteration draws its own fakes (SNGAN's n_disc = 5).
        self._substep = 0

    # --- set-up ---------------------------------------------------------------------------

    @property
    def real_batches_per_iteration(self):
        """How many per-replica real batches one `train_step` consumes (the data is batched so)."""
        return self.n_disc

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    def build_all(self, per_replica_batch_size, image_shape):
        """Create every variable (nets, optimiser slots, algorithm state). Call inside the scope.

        Keras would otherwise build the models by feeding data, or create optimiser slots lazily
        inside the replica step, which fails under MirroredStrategy.
        """
        z = tf.zeros([2, self.z_dim])
        labels = tf.zeros([2], tf.int32) if self.num_classes else None
        images = self.generator(z, labels, training=False)
        self.discriminator(images, labels, training=False)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.build_state(per_replica_batch_size, tuple(image_shape))
        self.built = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras' build at the start of `fit`, minus its peek at the data once `build_all` ran.

        Under a strategy Keras takes a batch and all-reduces it across replicas only to build
        what `build_all` has built already; under MultiWorkerMirroredStrategy that all-reduce
        of a one-replica `PerReplica` fails ("Attempt to convert a value (PerReplica...) to a
        Tensor").
        """
        if not self.built:
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
            return
        with self.distribute_strategy.scope():
            self._symbolic_build(iterator=None, data_batch=None)

    def build_state(self, per_replica_batch_size, image_shape):
        """Create algorithm state variables (none in the base trainer)."""

    def initialize_state(self):
        """Initialise algorithm state; runs in replica context (`strategy.run`)."""

    def state_variables(self):
        """Algorithm state outside the networks (e.g. FastGAN's perturbation)."""
        return []

    def checkpoint_items(self):
        """Everything a checkpoint must hold to resume this trainer exactly."""
        return {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "g_optimizer": self.g_optimizer,
            "d_optimizer": self.d_optimizer,
            "iteration": self.iteration,
            **({} if self.ema is None else {"generator_ema": self.ema.generator,
                                            "ema_updates": self.ema.updates}),
        }

    def call(self, inputs, training=False):
        z, labels = inputs
        return self.generator(z, labels, training=training)

    # --- randomness -------------------------------------------------------------------------

    def step_seed(self, salt):
        """A `[2]` int64 seed unique to `(self.seed, iteration, D sub-step, salt)`."""
        it = tf.cast(self.iteration, tf.int64)
        seed = tf.stack([tf.constant(self.seed, tf.int64), it * _SALTS_PER_ITERATION + salt])
        if self._substep:
            seed = tf.random.experimental.stateless_fold_in(seed, self._substep)
        return seed

    def sample_latents(self, local_batch, salt):
        """This replica's rows of a global batch of latents, `[local_batch, z_dim]`."""
        seed = self.step_seed(salt)
        return distribute.replica_rows(lambda shape: self.latent_sampler(shape, seed),
                                       [local_batch, self.z_dim])

    def sample_labels(self, local_batch, salt):
        """`y ~ Uniform{0..C-1}`, this replica's rows, int32 `[local_batch]`; None if C = 0."""
        if not self.num_classes:
            return None
        seed = self.step_seed(salt)
        return distribute.replica_rows(
            lambda shape: tf.random.stateless_uniform(shape, seed=seed, minval=0,
                                                      maxval=self.num_classes, dtype=tf.int32),
            [local_batch])

    def transform_latents(self, z, labels, step):
        """Hook: the latents actually fed to G in a training step (identity here).

        LOGAN optimises them against D (Wu et al. 2019, Alg. 1); the transform must stay
        differentiable when the step's loss is to see through it.

        Args:
            z: `[B, z_dim]` sampled latents.
            labels: int32 `[B]` or None.
            step: "discriminator" or "generator", the step the fakes are for.

        Returns:
            `(z_new [B, z_dim], per_example_penalty [B] or None)`; a penalty is added to that
            step's per-example loss.
        """
        del labels, step
        return z, None

    def sample_fakes(self, local_batch, latent_salt, label_salt, training=True,
                     step="discriminator", with_penalty=False):
        """`G(transform_latents(z), y)` for fresh `z`, `y`; returns `(fakes, labels)`, plus the
        hook's per-example penalty (or None) when `with_penalty`."""
        z = self.sample_latents(local_batch, latent_salt)
        labels = self.sample_labels(local_batch, label_salt)
        z, penalty = self.transform_latents(z, labels, step)
        fakes = self.generator(z, labels, training=training)
        if with_penalty:
            return fakes, labels, penalty
        return fakes, labels

    # --- the loop -----------------------------------------------------------------------------

    def train_step(self, data):
        images, labels = data
        chunks = self.real_batches_per_iteration
        local_batch = images.shape[0] // chunks if images.shape[0] else None
        if local_batch is None:
            raise ValueError("the training data must have a static batch size "
                             "(batch with drop_remainder=True)")
        logs = {
            "lr_d": tf.cast(self.d_optimizer.learning_rate, tf.float32),
            "lr_g": tf.cast(self.g_optimizer.learning_rate, tf.float32),
        }
        for i in range(self.n_disc):
            k = i % chunks
            sl = slice(k * local_batch, (k + 1) * local_batch)
            self._substep = i
            try:
                logs.update(self.discriminator_step(
                    images[sl], None if labels is None else labels[sl]))
            finally:
                self._substep = 0
        logs.update(self.generator_step(local_batch))
        if self.ema is not None:
            # In cross-replica context: the averaged variables are ordinary mirrored ones.
            tf.distribute.get_replica_context().merge_call(
                lambda _: self.ema.update(self.iteration))
        self.iteration.assign_add(1)
        return logs

    def make_train_function(self, force=False):
        """Keras' train function; with `steps_per_execution = K > 1` (or several workers), ours:
        K iterations per call.

        Keras 3 runs K > 1 as a `tf.while_loop` over `iterator.get_next_as_optional()` inside
        `tf.cond`s, which fails under MirroredStrategy ("You must feed a value for placeholder
        tensor", keras-team/keras#19246) and loses the data's static batch size. Our data sets
        repeat forever and `fit` asks for a multiple of K iterations (`experiment.run` lowers K
        to divide the run), so a plain `tf.range` loop of `strategy.run` on `next(iterator)`
        suffices, as in TF-Keras. It returns the last iteration's logs (means over replicas).
        """
        k = self.steps_per_execution  # set by Keras' compile, and by experiment.run
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

    def discriminator_step(self, real_images, real_labels):
        """One D update; returns a dict of scalar logs (local means)."""
        raise NotImplementedError

    def generator_step(self, local_batch):
        """One G update; returns a dict of scalar logs (local means)."""
        raise NotImplementedError

    # --- shared pieces --------------------------------------------------------------------------

    def apply_d_gradients(self, loss, tape):
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    def discriminator_update(self, real_inputs, real_labels, make_fakes, loss,
                             input_gradient=False):
        """One D optimiser step on `L_D^r(real_inputs) + L_D^f(fakes) (+ penalty)`, and its logs.

        D sees reals and fakes in ONE call: our discriminators have no batch coupling (no batch
        norm), so this equals two calls, is faster, and advances spectral norm's power
        iteration once per step.

        Args:
            real_inputs: `[B, ...]` real images as D should see them (perturbed or not).
            real_labels: int `[B]` or None.
            make_fakes: `fn() -> (fakes [B', ...], fake_labels int32 [B'] or None,
                per-example penalty [B'] or None)`, called inside the gradient tape, so D's
                gradient also reaches through fakes that depend on D (LOGAN's latent step);
                the penalty (`transform_latents`' R_z) is added to the fake loss.
            loss: a composition with `d_real(outputs, labels)` and `d_fake(outputs, labels)`.
            input_gradient: also return `dL_D^r / d real_inputs` from the same backward pass
                (FastGAN's free adversarial update).

        Returns:
            `(logs, grad)`: a dict of scalar logs (local means) and the input gradient
            `[B, ...]` (None unless asked).
        """
        batch = real_inputs.shape[0]
        with tf.GradientTape() as tape:
            if input_gradient:
                tape.watch(real_inputs)
            fakes, fake_labels, penalty = make_fakes()
            labels = None
            if real_labels is not None and fake_labels is not None:
                labels = tf.concat([tf.cast(real_labels, tf.int32), fake_labels], axis=0)
            outputs = self.discriminator(tf.concat([real_inputs, fakes], axis=0), labels,
                                         training=True)
            real_out = {k: v[:batch] for k, v in outputs.items()}
            fake_out = {k: v[batch:] for k, v in outputs.items()}
            real_loss, real_parts = loss.d_real(real_out, real_labels)
            fake_loss, fake_parts = loss.d_fake(fake_out, fake_labels)
            fake_total = fake_loss if penalty is None else fake_loss + penalty
            total = distribute.replica_loss(real_loss) + distribute.replica_loss(fake_total)
        variables = self.discriminator.trainable_variables
        sources = variables + ([real_inputs] if input_gradient else [])
        grads = tape.gradient(total, sources)
        self.d_optimizer.apply_gradients(zip(grads[:len(variables)], variables))
        logs = {"d_loss": tf.reduce_mean(real_loss) + tf.reduce_mean(fake_total),
                "d_loss_real": tf.reduce_mean(real_loss),
                "d_loss_fake": tf.reduce_mean(fake_loss)}
        if penalty is not None:
            logs["d_latent_penalty"] = tf.reduce_mean(penalty)
        logs.update({k: tf.reduce_mean(v) for k, v in {**real_parts, **fake_parts}.items()})
        logs["d_real_acc"] = tf.reduce_mean(tf.cast(real_out["logits"] > 0, tf.float32))
        logs["d_fake_acc"] = tf.reduce_mean(tf.cast(fake_out["logits"] < 0, tf.float32))
        if "class_logits" in real_out and real_labels is not None:
            pred = tf.argmax(real_out["class_logits"], axis=-1, output_type=tf.int32)
            logs["class_acc_real"] = tf.reduce_mean(
                tf.cast(tf.equal(pred, tf.cast(real_labels, tf.int32)), tf.float32))
        # L_D^f does not depend on the reals, so this is dL_D^r / d real_inputs.
        return logs, (grads[-1] if input_gradient else None)

    def standard_generator_step(self, local_batch, g_loss_fn):
        """Fresh `z, y_f`; minimise `g_loss_fn(D(G(z, y_f)), y_f)` over G's weights.

        Args:
            g_loss_fn: `fn(d_outputs, labels) -> (per_example [B], parts dict of [B])`.
        """
        with tf.GradientTape() as tape:
            fakes, fake_labels, penalty = self.sample_fakes(
                local_batch, SALT_G_LATENTS, SALT_G_LABELS, step="generator", with_penalty=True)
            outputs = self.discriminator(fakes, fake_labels, training=True)
            per_example, parts = g_loss_fn(outputs, fake_labels)
            if penalty is not None:
                per_example = per_example + penalty
                parts = dict(parts, g_latent_penalty=penalty)
            loss = distribute.replica_loss(per_example)
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        logs = {"g_loss": tf.reduce_mean(per_example)}
        logs.update({k: tf.reduce_mean(v) for k, v in parts.items()})
        return logs

    def generate(self, z, labels=None):
        """Images for evaluation and export (BN in inference mode)."""
        return self.generator(z, labels, training=False)

    def generate_ema(self, z, labels=None):
        """Images of the averaged generator (`run.ema`), BN in inference mode."""
        if self.ema is None:
            raise ValueError("this run keeps no EMA of G (bind run.ema = @GeneratorEMA())")
        return self.ema.generator(z, labels, training=False)
