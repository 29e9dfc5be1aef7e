"""The EMA generator in training: every G update averaged, resumed, replicated, evaluated and
exported (tests/unit/test_ema.py checks the update against a hand computation)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.support import ROOT, strategies
from tests.support.runs import CONFIGS
from tests.support.runs import checkpoint_tensors
from tfgan_fast.run import config
from tfgan_fast.run import experiment

EMA = ["run.ema = @GeneratorEMA()", "GeneratorEMA.decay = 0.75", "GeneratorEMA.start = 2"]


def _parse(steps, extra=()):
    gin_file, params = CONFIGS["fastgan"]
    config.parse([os.path.join(ROOT, gin_file)],
                 params + EMA + list(extra) + [f"run.train_steps = {steps}"])


class _Recorder(keras.callbacks.Callback):
    """G's and the EMA's variables after every iteration."""

    def __init__(self):
        super().__init__()
        self.g, self.ema = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.g.append([v.numpy().copy() for v in self.model.generator.variables])
        self.ema.append([v.numpy().copy() for v in self.model.ema.generator.variables])


@pytest.mark.slow
class TrainingTest(tf.test.TestCase):

    def _run(self, name, steps, extra=(), **kwargs):
        _parse(steps, extra)
        return experiment.run(os.path.join(self.get_temp_dir(), name), **kwargs)

    def test_the_trainer_averages_every_g_update(self):
        recorder = _Recorder()
        _parse(5)
        exp = experiment.run(os.path.join(self.get_temp_dir(), "rec"), setup_only=True)
        self.assertIsNotNone(exp.trainer.ema)
        initial = [v.numpy().copy() for v in exp.trainer.generator.variables]
        self.assertAllClose([v.numpy() for v in exp.trainer.ema.generator.variables], initial)
        dataset = exp.strategy.distribute_datasets_from_function(
            lambda ctx: exp.data.make(exp.per_replica_batch, seed=0, input_context=ctx))
        exp.trainer.fit(dataset, epochs=1, steps_per_epoch=5, callbacks=[recorder], verbose=0,
                        shuffle=False)
        expected = initial
        for iteration, weights in enumerate(recorder.g):
            expected = (weights if iteration < 2 else
                        [0.75 * e + 0.25 * w for e, w in zip(expected, weights)])
            for got, want in zip(recorder.ema[iteration], expected):
                self.assertAllClose(got, want, atol=1e-6)
        self.assertEqual(int(exp.trainer.ema.updates.numpy()), 3)

    def test_resume_is_exact(self):
        whole = self._run("whole", 5)["checkpoint"]
        for steps in (2, 5):
            cut = self._run("cut", steps)["checkpoint"]
        want, got = checkpoint_tensors(whole), checkpoint_tensors(cut)
        ema_keys = [k for k in want if k.startswith("generator_ema")]
        self.assertNotEmpty(ema_keys)
        self.assertIn("ema_updates/.ATTRIBUTES/VARIABLE_VALUE", want)
        self.assertEqual([k for k in want if not np.array_equal(want[k], got[k])], [])

    def test_replicas_agree_on_two_replicas(self):
        # (Exact resume on two replicas holds for every checkpointed variable: test_resume.py.)
        strategy = strategies.two_cpu_mirrored()
        if strategy is None:
            self.skipTest("needs two logical CPUs")
        result = self._run("two", 3, strategy_fn=lambda: strategy)
        self.assertTrue(result["checkpoint"].endswith("ckpt-3"))
        _parse(3)
        exp = experiment.run(os.path.join(self.get_temp_dir(), "two"), setup_only=True,
                             strategy_fn=lambda: strategy)
        self.assertEqual(int(exp.trainer.ema.updates.numpy()), 1)  # iteration 2 only
        for v in exp.trainer.ema.generator.variables:
            copies = strategy.experimental_local_results(v.value)
            self.assertLen(copies, 2)
            self.assertAllEqual(copies[0], copies[1])

    def test_export_and_evaluation_use_the_ema_and_say_so(self):
        exact = ["run.export_at_end = True", "run.mixed_precision = None"]  # float32: exact
        result = self._run("export", 3, exact)
        exp_dir = result["export_path"]
        loaded = tf.saved_model.load(exp_dir)
        _parse(3, exact)
        exp = experiment.run(os.path.join(self.get_temp_dir(), "export"), setup_only=True)
        z = tf.random.stateless_normal([4, exp.trainer.z_dim], [1, 2])
        labels = tf.constant([0, 1, 2, 3])
        served = loaded.signatures["serving_default"](z=z, labels=labels)
        images = next(iter(served.values()))
        self.assertAllClose(images, exp.trainer.generate_ema(z, labels), atol=1e-5)
        self.assertNotAllClose(images, exp.trainer.generate(z, labels), atol=1e-5)
        self.assertEqual(result["generator"], "EMA of G (decay 0.75 from iteration 2)")


if __name__ == "__main__":
    tf.test.main()
