"""DiffAugment (Zhao et al. 2020): each transform against its definition, its gradient, its
seeding, and the trainer showing D the augmented reals and fakes in both steps."""

import numpy as np
import tensorflow as tf

from tests.support.compose import (B, D_LR, G_LR, assert_nets, copy_nets, fit_once, make_batch,
                                   make_trainer, sgd_step, step_latents)
from tfgan_fast.algorithms import diffaugment
from tfgan_fast.algorithms import StandardGAN

SEED = tf.constant([3, 4], tf.int64)


def _draws(salt, shape):
    return diffaugment._uniform(shape, SEED, salt).numpy()  # pylint: disable=protected-access


class TransformTest(tf.test.TestCase):

    def _images(self, b=6, size=8, channels=1):
        return tf.reshape(tf.range(b * size * size * channels, dtype=tf.float32) + 1.0,
                          [b, size, size, channels])

    def test_translation_is_a_zero_filled_shift(self):
        x = self._images()
        got = diffaugment.translation(x, SEED).numpy()
        dy = np.floor(_draws(3, [6]) * 3).astype(int) - 1  # s = round(8 / 8) = 1
        dx = np.floor(_draws(4, [6]) * 3).astype(int) - 1
        for i in range(6):
            want = np.zeros((8, 8, 1), np.float32)
            src = x[i].numpy()
            for r in range(8):
                for c in range(8):
                    if 0 <= r - dy[i] < 8 and 0 <= c - dx[i] < 8:
                        want[r, c] = src[r - dy[i], c - dx[i]]
            self.assertAllEqual(got[i], want, msg=f"example {i}, shift ({dy[i]}, {dx[i]})")
        self.assertGreater(len(set(zip(dy, dx))), 1)  # each example its own shift

    def test_cutout_zeroes_one_square(self):
        x = self._images()
        got = diffaugment.cutout(x, SEED).numpy()
        cy = np.floor(_draws(5, [6]) * 9).astype(int)  # side 4, centres in [0, 8]
        cx = np.floor(_draws(6, [6]) * 9).astype(int)
        for i in range(6):
            mask = np.ones((8, 8, 1), np.float32)
            mask[max(cy[i] - 2, 0):max(cy[i] + 2, 0), max(cx[i] - 2, 0):max(cx[i] + 2, 0)] = 0
            self.assertAllEqual(got[i], x[i].numpy() * mask)

    def test_color_by_its_formulas(self):
        x = tf.random.stateless_uniform([5, 4, 4, 3], seed=[1, 2], minval=-1, maxval=1)
        u = [_draws(k, [5, 1, 1, 1]) for k in range(3)]
        want = x.numpy() + (u[0] - 0.5)
        mean_c = want.mean(axis=3, keepdims=True)
        want = (want - mean_c) * (2 * u[1]) + mean_c
        mean = want.mean(axis=(1, 2, 3), keepdims=True)
        want = (want - mean) * (u[2] + 0.5) + mean
        self.assertAllClose(diffaugment.color(x, SEED), want, atol=1e-5)
        # A constant image stays constant, moved by its brightness draw within +-0.5.
        flat = diffaugment.color(tf.fill([5, 4, 4, 1], 0.25), SEED).numpy()
        self.assertAllClose(flat, np.broadcast_to(0.25 + u[0] - 0.5, flat.shape), atol=1e-6)

    def test_gradients_flow_through_every_policy(self):
        x = tf.random.stateless_uniform([4, 8, 8, 3], seed=[5, 6], minval=-1, maxval=1)
        augment = diffaugment.DiffAugment()
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = augment(x, SEED)
            total = tf.reduce_sum(y * y)
        grad = tape.gradient(total, x).numpy()
        self.assertEqual(y.shape, x.shape)
        self.assertTrue(np.all(np.isfinite(grad)))
        self.assertGreater(np.abs(grad).sum(), 0.0)
        # Translation and cutout pass each kept pixel's gradient through unchanged (1) and
        # block the rest (0).
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(diffaugment.cutout(diffaugment.translation(x, SEED), SEED))
        g = tape.gradient(total, x).numpy()
        self.assertTrue(set(np.unique(g)) <= {0.0, 1.0})

    def test_seeded_and_validated(self):
        x = tf.random.stateless_uniform([4, 8, 8, 1], seed=[5, 6])
        augment = diffaugment.DiffAugment("translation,cutout")
        self.assertAllEqual(augment(x, SEED), augment(x, SEED))
        self.assertNotAllClose(augment(x, SEED), augment(x, SEED + 1))
        with self.assertRaisesRegex(ValueError, "policy must name some of .* got 'color,flip'"):
            diffaugment.DiffAugment("color,flip")
        with self.assertRaisesRegex(ValueError, "image batches"):
            augment(tf.zeros([4, 2]), SEED)


class SmallDataGinTest(tf.test.TestCase):

    def test_the_ten_percent_pair(self):
        import os  # pylint: disable=import-outside-toplevel
        from tests.support import ROOT  # pylint: disable=import-outside-toplevel
        from tests.support.runs import build  # pylint: disable=import-outside-toplevel
        for name, augmented in (("small_data", False), ("small_data_diffaugment", True)):
            exp = build([os.path.join(ROOT, "gin", "fmnist", f"{name}.gin")])
            self.assertEqual((exp.data.name, exp.data.num_examples, exp.train_steps),
                             ("fashion_mnist[0.1]", 6000, 3000))
            self.assertEqual(repr(exp.trainer.augment),
                             "DiffAugment(color,translation,cutout)" if augmented else "None")


class Negate:
    """A deterministic stand-in augmentation, `T(x) = -x`, that records its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, seed):
        self.calls.append(int(x.shape[0]))
        return -x


class TrainerTest(tf.test.TestCase):

    def test_d_and_g_see_augmented_reals_and_fakes(self):
        """SNGAN's hinge step with `T(x) = -x`: D's update uses D(T(x_r)) and D(T(x_f)), G's
        D(T(G(z))); the reference applies T by hand."""
        augment = Negate()
        t = make_trainer(StandardGAN, augment=augment)
        g_ref, d_ref = copy_nets(t)
        x, y = make_batch()
        rng = t.step_random()
        z, y_f, _ = step_latents(t, B, rng, "d")
        fakes = g_ref(z, y_f)
        with tf.GradientTape() as tape:
            d_loss = (tf.reduce_mean(tf.nn.relu(1.0 - d_ref(-x)["logits"]))
                      + tf.reduce_mean(tf.nn.relu(1.0 + d_ref(-fakes)["logits"])))
        sgd_step(d_ref, tape.gradient(d_loss, d_ref.trainable_variables), D_LR)
        z, y_g, _ = step_latents(t, B, rng, "g")
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(d_ref(-g_ref(z, y_g))["logits"])
        sgd_step(g_ref, tape.gradient(g_loss, g_ref.trainable_variables), G_LR)
        fit_once(t, x, y)
        assert_nets(self, t, g_ref, d_ref)
        self.assertEqual(augment.calls, [B, B, B])  # reals and fakes (D step), fakes (G step)


if __name__ == "__main__":
    tf.test.main()
