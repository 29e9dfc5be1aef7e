"""The EMA generator: the update against a hand computation, in training, resumed, replicated,
evaluated and exported."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import strategies
from tests.test_resume import CONFIGS
from tests.test_resume import ROOT
from tests.test_resume import checkpoint_tensors
from tfgan_fast.run import config
from tfgan_fast.algorithms import ema as ema_lib
from tfgan_fast.run import experiment

EMA = ["run.ema = @GeneratorEMA()", "GeneratorEMA.decay = 0.75", "GeneratorEMA.start = 2"]


def _dense(seed):
    keras.utils.set_random_seed(seed)
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    return net


class UpdateTest(tf.test.TestCase):

    def test_copy_before_start_then_average(self):
        g, twin = _dense(0), _dense(1)
        ema = ema_lib.GeneratorEMA(decay=0.75, start=2)
        ema.attach(g, twin)
        self.assertAllClose(twin.variables[0], g.variables[0])  # starts as a copy
        kernel = g.variables[0]
        history = []
        expected = kernel.numpy().copy()
        for iteration in range(5):
            kernel.assign(kernel + 1.0 + iteration)  # a "G update"
            ema.update(iteration)
            w = kernel.numpy()
            expected = w if iteration < 2 else 0.75 * expected + 0.25 * w
            history.append(twin.variables[0].numpy().copy())
            self.assertAllClose(history[-1], expected)
        self.assertEqual(int(ema.updates), 3)

    def test_warmup(self):
        self.assertAllClose(ema_lib.ema_decay(0.999, 0, True), 0.1)        # (1 + 0) / (10 + 0)
        self.assertAllClose(ema_lib.ema_decay(0.999, 90, True), 91 / 100)
        self.assertAllClose(ema_lib.ema_decay(0.999, 10 ** 6, True), 0.999)
        self.assertAllClose(ema_lib.ema_decay(0.999, 0, False), 0.999)
        g, twin = _dense(0), _dense(1)
        ema = ema_lib.GeneratorEMA(decay=0.99, warmup=True)
        ema.attach(g, twin)
        start = g.variables[0].numpy().copy()
        g.variables[0].assign(start + 10.0)
        ema.update(0)  # decay 0.1
        self.assertAllClose(twin.variables[0], 0.1 * start + 0.9 * (start + 10.0))

    def test_bad_values(self):
        with self.assertRaisesRegex(ValueError, r"GeneratorEMA.decay must lie in \(0, 1\), got 1"):
            ema_lib.GeneratorEMA(decay=1)
        with self.assertRaisesRegex(ValueError, "GeneratorEMA.start must be an integer >= 0"):
            ema_lib.GeneratorEMA(start=-1)
        with self.assertRaisesRegex(ValueError, "not built like the generator"):
            ema_lib.GeneratorEMA().attach(_dense(0), keras.Sequential(
                [keras.Input((3,)), keras.layers.Dense(4)]))


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
