"""LOGAN (Wu et al. 2019, Alg. 1, eq. 6, 17), tiny nets: second-order terms, ablations."""

import os

import keras
import numpy as np
import tensorflow as tf

from tests.support import ROOT, strategies
from tests.support.offline import mock_tfds_all
from tests.support.tiny_nets import TinyDiscriminator, TinyGenerator
from tfgan_fast.run import config
from tfgan_fast.run import experiment
from tfgan_fast.export import saved_model as export
from tfgan_fast.algorithms import latents as latent
from tfgan_fast.algorithms import losses
from tfgan_fast.algorithms import LOGAN
from tfgan_fast.eval import evaluator as evaluator_lib
from tfgan_fast.runtime.randomness import Salt
from tfgan_fast.nets import (BigGANDeepDiscriminator, BigGANDeepGenerator, ResNetDiscriminator,
                             ResNetGenerator, SNGANCNNDiscriminator, SNGANCNNGenerator)

B, C, Z = 8, 3, 4


class LinearG(keras.Model):
    """`G(z) = A z` as a `[B, 2, 2, 1]` image (A = kernel^T)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(4, use_bias=False)

    def call(self, z, labels=None, training=None):
        return tf.reshape(self.dense(z), [-1, 2, 2, 1])


class LinearD(keras.Model):
    """`D(x) = w . x`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1, use_bias=False)

    def call(self, images, labels=None, training=None):
        return {"logits": tf.squeeze(self.dense(tf.reshape(images, [-1, 4])), -1)}


def _half_uniform(shape, seed):
    # |z| <= 0.5 so that the small latent steps of these tests never clip.
    return 0.5 * latent.uniform_latents(shape, seed)


def _trainer(nets, num_classes, strategy=None, image_shape=(4, 4, 1), z_dim=Z, lr=1.0,
             run_eagerly=False, **kwargs):
    """`nets()` -> (G, D), built after seeding so that every trainer starts from the same
    weights."""
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(0)
    with strategy.scope():
        g, d = nets()
        trainer = LOGAN(g, d, z_dim=z_dim, num_classes=num_classes, seed=5, **kwargs)
        trainer.compile(g_optimizer=keras.optimizers.SGD(lr),
                        d_optimizer=keras.optimizers.SGD(lr), run_eagerly=run_eagerly)
        trainer.build_all(B // strategy.num_replicas_in_sync, image_shape)
    return trainer


def _batch(shape=(4, 4, 1), num_classes=C):
    rng = np.random.RandomState(1)
    return (rng.uniform(-1, 1, (B,) + tuple(shape)).astype("float32"),
            rng.randint(0, max(num_classes, 1), B).astype("int32"))


def _fit(trainer, steps=1, shape=(4, 4, 1), num_classes=C):
    x, y = _batch(shape, num_classes)
    return trainer.fit(tf.data.Dataset.from_tensors((x, y)).repeat(), epochs=1,
                       steps_per_epoch=steps, verbose=0).history


def _linear(alpha, w_r, step=None, **kwargs):
    return _trainer(lambda: (LinearG(), LinearD()), 0, image_shape=(2, 2, 1),
                    latent_step=step or latent.GradientStep(alpha), latent_weight=w_r,
                    optimized_fraction=1.0, latent_sampler=_half_uniform,
                    loss=losses.AdversarialLoss(losses.wasserstein_d_real,
                                                losses.wasserstein_d_fake, losses.wasserstein_g),
                    **kwargs)


def _d_step_change(trainer):
    x = tf.constant(_batch((2, 2, 1))[0])
    before = trainer.discriminator.trainable_variables[0].numpy()
    trainer.discriminator_step(x, None, trainer.step_random())
    return trainer.discriminator.trainable_variables[0].numpy() - before


class SecondOrderTest(tf.test.TestCase):

    def test_d_gradient_has_the_second_order_term_of_eq6(self):
        # f(z) = w^T A z, z' = z + alpha A^T w: d f(z')/dw = A z + 2 alpha A A^T w with the
        # latent step differentiated, A z + alpha A A^T w with it stopped; R_z = w_r alpha^2
        # ||A^T w||^2 adds 2 w_r alpha^2 A A^T w. SGD(1) moves w by minus the gradient.
        alpha, w_r = 0.05, 0.5
        full = _linear(alpha, w_r)
        stopped = _linear(alpha, w_r, stop_gradient_d=True)
        a = full.generator.trainable_variables[0].numpy().T  # [4, Z]
        w = full.discriminator.trainable_variables[0].numpy()  # [4, 1]
        self.assertAllClose(a, stopped.generator.trainable_variables[0].numpy().T)
        term = a @ a.T @ w
        diff = _d_step_change(full) - _d_step_change(stopped)
        self.assertGreater(np.abs(diff).max(), 1e-4)
        self.assertAllClose(diff, -(alpha + 2 * w_r * alpha ** 2) * term, atol=1e-6)

    def test_alpha_zero_equals_the_stop_gradient_ablation(self):
        for step in (latent.GradientStep(0.0), latent.NaturalGradientStep(0.0, 0.1)):
            full = _linear(0.0, 0.5, step=step)
            stopped = _linear(0.0, 0.5, step=step, stop_gradient_d=True)
            self.assertAllClose(_d_step_change(full), _d_step_change(stopped), atol=1e-7)

    def test_ngd_d_gradient_differs_from_stop_gradient(self):
        def make(**kw):
            return _trainer(_tiny, C, latent_weight=0.1, **kw)
        x, y = _batch()
        changes = []
        for kw in ({}, {"stop_gradient_d": True},
                   {"latent_step": latent.NaturalGradientStep(0.0, 0.1)},
                   {"latent_step": latent.NaturalGradientStep(0.0, 0.1),
                    "stop_gradient_d": True}):
            trainer = make(**kw)
            before = [v.numpy() for v in trainer.discriminator.trainable_variables]
            trainer.discriminator_step(tf.constant(x), tf.constant(y), trainer.step_random())
            changes.append(np.concatenate(
                [(v.numpy() - b).ravel()
                 for v, b in zip(trainer.discriminator.trainable_variables, before)]))
        self.assertGreater(np.abs(changes[0] - changes[1]).max(), 1e-6)
        self.assertAllClose(changes[2], changes[3], atol=1e-7)

    def test_g_gradient_ablation(self):
        def g_change(**kw):
            trainer = _linear(0.05, 0.5, **kw)
            before = trainer.generator.trainable_variables[0].numpy()
            trainer.generator_step(B, trainer.step_random())
            return trainer.generator.trainable_variables[0].numpy() - before

        self.assertGreater(np.abs(g_change() - g_change(stop_gradient_g=True)).max(), 1e-5)
        zero = {"step": latent.GradientStep(0.0)}
        self.assertAllClose(g_change(**zero), g_change(stop_gradient_g=True, **zero),
                            atol=1e-7)
        # stop_gradient_d does not touch the G step.
        self.assertAllClose(g_change(), g_change(stop_gradient_d=True), atol=1e-7)


class LatentStepsTest(tf.test.TestCase):

    def test_n_training_steps_run_n_updates_on_the_masked_dimensions(self):
        for n in (1, 3):
            trainer = _trainer(_tiny, C, latent_steps=n, optimized_fraction=0.5)
            calls = []
            transform, rng = trainer.latent_transform, trainer.step_random()
            score = transform.score
            transform.score = lambda tr, z, labels, training=True: calls.append(1) or score(
                tr, z, labels, training)
            z = trainer.sample_latents(B, Salt.G_LATENTS, rng)
            labels = trainer.sample_labels(B, Salt.G_LABELS, rng)
            z_new, penalty = transform(trainer, z, labels, "generator", rng)
            self.assertLen(calls, n)
            mask = latent.random_mask([B, Z], 0.5, rng.seed(Salt.G_LATENT_MASK)).numpy()
            self.assertAllEqual(mask.sum(1), [2.0] * B)
            moved = np.abs(z_new.numpy() - z.numpy()) > 0
            self.assertAllEqual(moved & (mask == 0), np.zeros_like(moved))
            self.assertTrue(moved.any())
            self.assertEqual(penalty.shape, (B,))
            self.assertTrue(np.all(penalty.numpy() > 0))

    def test_step_counts_and_logs(self):
        trainer = _trainer(_tiny, C, latent_weight=0.1)
        logs = _fit(trainer, steps=2)
        self.assertEqual(int(trainer.iteration.numpy()), 2)
        self.assertEqual(int(trainer.d_optimizer.iterations.numpy()), 2)
        self.assertEqual(int(trainer.g_optimizer.iterations.numpy()), 2)
        for key in ("d_loss", "g_loss", "d_latent_penalty", "g_latent_penalty"):
            self.assertTrue(np.isfinite(logs[key][0]), key)
        self.assertGreater(logs["d_latent_penalty"][0], 0.0)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "latent_steps must be an integer >= 0, got -1"):
            LOGAN(TinyGenerator(), TinyDiscriminator(), z_dim=Z, num_classes=C, latent_steps=-1)
        with self.assertRaisesRegex(ValueError, "optimized_fraction must be in"):
            LOGAN(TinyGenerator(), TinyDiscriminator(), z_dim=Z, num_classes=C,
                  optimized_fraction=2.0)

    def test_sampling_transform_runs_n_inference_steps(self):
        trainer = _trainer(_tiny, C)
        z = trainer.sample_latents(B, Salt.D_LATENTS, trainer.step_random())
        y = trainer.sample_labels(B, Salt.D_LABELS, trainer.step_random())
        self.assertAllEqual(trainer.sampling_latent_transform(0)(z, y), z)
        lt = trainer.latent_transform
        want = latent.optimize_latents(
            z, lambda zz: lt.score(trainer, zz, y, training=False), lt.latent_step, 2).z
        self.assertAllClose(trainer.sampling_latent_transform(2)(z, y), want)
        with self.assertRaisesRegex(ValueError, "needs a latent_transform"):
            evaluator_lib.Evaluator(num_samples=4, splits=1, latent_steps=2).evaluate(
                trainer.generate, Z, C)


class MirroredTest(tf.test.TestCase):

    def test_two_replicas_equal_one_device(self):
        two_cpus = strategies.two_cpu_mirrored()
        if two_cpus is None:
            self.skipTest("needs 2 logical CPUs (tests/conftest.py)")
        kw = dict(latent_weight=0.1, optimized_fraction=0.5, lr=0.05)
        one = _trainer(_tiny, C, **kw)
        two = _trainer(_tiny, C, strategy=two_cpus, **kw)
        _fit(one, steps=2)
        _fit(two, steps=2)
        for a, b in zip(one.generator.variables + one.discriminator.variables,
                        two.generator.variables + two.discriminator.variables):
            self.assertAllClose(a, b, atol=1e-5)

    def test_biggan_step_under_mirrored(self):
        two_cpus = strategies.two_cpu_mirrored()
        if two_cpus is None:
            self.skipTest("needs 2 logical CPUs (tests/conftest.py)")
        trainer = _trainer(_tiny_biggan, C, strategy=two_cpus, image_shape=(16, 16, 3),
                           z_dim=8, lr=1e-3, run_eagerly=True)
        _check_one_step(self, trainer, (16, 16, 3))


def _tiny():
    # D's class logits are unused by LOGAN's losses, but an unused (unbuilt) layer would make
    # Keras' fit try to build the trainer by calling it.
    return TinyGenerator(num_classes=C), TinyDiscriminator(num_classes=C)


def _tiny_biggan(z_dim=8, **kwargs):
    # 16 px, one block per stage, attention at 8 px: every component, few ops to trace.
    g = BigGANDeepGenerator(resolution=16, width=4, z_dim=z_dim, num_classes=C, embedding_dim=4,
                            leaky_slope=0.2, attention_resolution=8, blocks_per_stage=1,
                            channel_multipliers=(4, 4, 4), **kwargs)
    d = BigGANDeepDiscriminator(resolution=16, width=4, num_classes=C, leaky_slope=0.2,
                                attention_resolution=8, blocks_per_stage=1,
                                channel_multipliers=(1, 2, 4))
    return g, d


def _check_one_step(test, trainer, shape, num_classes=C):
    g0 = [v.numpy() for v in trainer.generator.trainable_variables]
    d0 = [v.numpy() for v in trainer.discriminator.trainable_variables]
    logs = _fit(trainer, shape=shape, num_classes=num_classes)
    test.assertEqual(int(trainer.iteration.numpy()), 1)
    for key in ("d_loss", "g_loss", "d_latent_penalty", "g_latent_penalty"):
        test.assertTrue(np.isfinite(logs[key][0]), key)
    test.assertGreater(logs["g_latent_penalty"][0], 0.0)
    for before, var in ((g0, trainer.generator), (d0, trainer.discriminator)):
        test.assertTrue(any(np.abs(b - v.numpy()).max() > 0
                            for b, v in zip(before, var.trainable_variables)))


class NetworksTest(tf.test.TestCase):

    def test_sngan_cnn_shapes_and_cifar_parameter_counts(self):
        g, d = SNGANCNNGenerator(), SNGANCNNDiscriminator()
        x = g(tf.zeros([2, 128]))
        self.assertEqual(x.shape, (2, 32, 32, 3))
        self.assertEqual(d(x)["logits"].shape, (2,))
        count = lambda m: sum(int(np.prod(v.shape)) for v in m.trainable_variables)  # noqa
        # G: dense 128*8192+8192; deconvs 4*4*(512*256+256*128+128*64) + biases;
        # BN gamma/beta 2*(512+256+128+64); conv_out 3*3*64*3+3.
        want_g = (128 * 8192 + 8192 + 16 * (512 * 256 + 256 * 128 + 128 * 64)
                  + 256 + 128 + 64 + 2 * (512 + 256 + 128 + 64) + 9 * 64 * 3 + 3)
        self.assertEqual(count(g), want_g)
        want_d = (9 * 3 * 64 + 16 * 64 * 64 + 9 * 64 * 128 + 16 * 128 * 128 + 9 * 128 * 256
                  + 16 * 256 * 256 + 9 * 256 * 512 + 64 * 2 + 128 * 2 + 256 * 2 + 512
                  + 4 * 4 * 512 + 1)
        self.assertEqual(count(d), want_d)
        with self.assertRaisesRegex(ValueError, "resolution must be .*, got 30$"):
            SNGANCNNGenerator(resolution=30)

    def test_one_logan_step_sngan_cnn(self):
        for conditional in (False, True):
            def nets():
                return (SNGANCNNGenerator(resolution=16, width=16, z_dim=Z, num_classes=C,
                                          conditional=conditional),
                        SNGANCNNDiscriminator(resolution=16, width=4, num_classes=C,
                                              conditional=conditional))
            trainer = _trainer(nets, C, image_shape=(16, 16, 3), lr=1e-3, run_eagerly=True)
            _check_one_step(self, trainer, (16, 16, 3))

    def test_one_logan_step_biggan_deep(self):
        # Hierarchical z (3 chunks of 3) here, skip-z in the mirrored test.
        trainer = _trainer(lambda: _tiny_biggan(z_dim=9, hierarchical_z=True), C,
                           image_shape=(16, 16, 3), z_dim=9, lr=1e-3, run_eagerly=True,
                           loss=losses.AdversarialLoss(losses.nonsaturating_d_real,
                                                       losses.nonsaturating_d_fake,
                                                       losses.nonsaturating_g))
        _check_one_step(self, trainer, (16, 16, 3))

    def test_one_logan_step_resnet_projection(self):
        def nets():
            return (ResNetGenerator(resolution=16, channels=1, width=8, z_dim=Z, num_classes=C),
                    ResNetDiscriminator(resolution=16, channels=1, width=8, num_classes=C,
                                        head="projection", spectral_norm=True))
        trainer = _trainer(nets, C, image_shape=(16, 16, 1), lr=1e-3, run_eagerly=True)
        _check_one_step(self, trainer, (16, 16, 1))

    def test_biggan_shapes_config_and_errors(self):
        g, d = _tiny_biggan()
        y = tf.constant([0, 1], tf.int32)
        x = g(tf.zeros([2, 8]), y)
        self.assertEqual(x.shape, (2, 16, 16, 3))
        self.assertLessEqual(float(tf.reduce_max(tf.abs(x))), 1.0)
        self.assertEqual(d(x, y)["logits"].shape, (2,))
        self.assertEqual(type(g).from_config(g.get_config()).get_config(), g.get_config())
        self.assertEqual(g.get_config()["leaky_slope"], 0.2)
        with self.assertRaisesRegex(ValueError, "resolution=48"):
            BigGANDeepGenerator(resolution=48)
        with self.assertRaisesRegex(ValueError, "does not divide"):
            BigGANDeepGenerator(resolution=32, z_dim=10, hierarchical_z=True)
        with self.assertRaisesRegex(ValueError, "make 16 px, not resolution=32"):
            BigGANDeepGenerator(resolution=32, channel_multipliers=(4, 4, 4))


class TruncationTest(tf.test.TestCase):

    def test_zero_truncation_gives_one_image_per_label_in_the_saved_model(self):
        g, _ = _tiny_biggan()
        z = tf.random.stateless_uniform([4, 8], seed=[0, 1], minval=-1, maxval=1)
        labels = tf.constant([2, 2, 2, 2], tf.int32)
        g(z, labels, training=True)
        path = export.export_generator(g, os.path.join(self.get_temp_dir(), "g"), 8, C)
        loaded = tf.saved_model.load(path)
        truncated = loaded.signatures["truncated"]
        images = truncated(z=z, labels=labels, truncation=tf.constant(0.0))["images"]
        for i in range(1, 4):
            self.assertAllEqual(images[i], images[0])
        self.assertAllClose(images[0], g(tf.zeros([1, 8]), labels[:1], training=False)[0],
                            atol=1e-6)
        # Unchanged default signature; truncation 1 is the default signature.
        default = loaded.signatures["serving_default"](z=z, labels=labels)["images"]
        self.assertNotAllClose(default[0], default[1])
        self.assertAllClose(default, g(z, labels, training=False), atol=1e-6)
        self.assertAllClose(
            truncated(z=z, labels=labels, truncation=tf.constant(1.0))["images"], default)


class GinTest(tf.test.TestCase):

    def _build(self, name, params=()):
        config.parse([os.path.join(ROOT, "gin", name)], list(params))
        with mock_tfds_all(num_examples=4):
            return experiment.run("/tmp/unused_model_dir", setup_only=True).trainer

    def test_cifar_rows(self):
        t = self._build("cifar10/logan_sngan.gin", ["run.evaluator = None"])
        self.assertIsInstance(t, LOGAN)
        self.assertIsInstance(t.latent_transform.latent_step, latent.NaturalGradientStep)
        lt = t.latent_transform
        self.assertEqual((lt.latent_step.alpha, lt.latent_step.beta), (0.9, 0.1))
        self.assertEqual((lt.latent_weight, lt.optimized_fraction, lt.latent_steps),
                         (0.1, 0.8, 1))
        self.assertEqual(t.latent_sampler.__name__, "uniform_latents")
        self.assertIsInstance(t.generator, SNGANCNNGenerator)
        t = self._build("cifar10/logan_gd_sngan.gin", ["run.evaluator = None"])
        self.assertIsInstance(t.latent_transform.latent_step, latent.GradientStep)
        t = self._build("cifar10/logan_sngan.gin",
                        ["run.evaluator = None", "LOGAN.stop_gradient_d = True"])
        self.assertTrue(t.latent_transform.stop_gradient_d)


if __name__ == "__main__":
    tf.test.main()
