"""LOGAN's latent steps (Wu et al. 2019, eq. 4, 15-17) against values by hand and a dense solve."""

import numpy as np
import tensorflow as tf

from tfgan_fast.algorithms import latents as latent


class StepTest(tf.test.TestCase):

    def test_ngd_closed_form_on_a_hand_made_gradient(self):
        g = tf.constant([[3.0, 4.0], [1.0, 0.0], [0.0, 0.0]])
        dz = latent.NaturalGradientStep(alpha=0.9, beta=0.1)(g)
        # alpha / (beta + ||g||^2) * g: 0.9 / 25.1 and 0.9 / 1.1.
        want = [[0.9 * 3 / 25.1, 0.9 * 4 / 25.1], [0.9 / 1.1, 0.0], [0.0, 0.0]]
        self.assertAllClose(dz, want, atol=1e-7)

    def test_ngd_equals_the_dense_sherman_morrison_solve(self):
        rng = np.random.RandomState(0)
        g = rng.normal(size=(5, 7)) * rng.uniform(0.1, 3.0, size=(5, 1))
        alpha, beta = 0.9, 5.0
        dz = latent.NaturalGradientStep(alpha=alpha, beta=beta)(tf.constant(g, tf.float32))
        for i in range(5):
            fisher = np.outer(g[i], g[i]) + beta * np.eye(7)  # eq. 15
            want = np.linalg.solve(fisher, alpha * g[i])
            self.assertAllClose(dz[i], want, rtol=1e-5, atol=1e-7)

    def test_gd_step(self):
        g = tf.constant([[1.0, -2.0]])
        self.assertAllClose(latent.GradientStep(alpha=0.01)(g), [[0.01, -0.02]])

    def test_bad_damping_is_rejected(self):
        with self.assertRaisesRegex(ValueError, "beta must be > 0, got 0"):
            latent.NaturalGradientStep(beta=0.0)


class MaskTest(tf.test.TestCase):

    def test_exact_fraction_per_row_and_reproducible(self):
        mask = latent.random_mask([64, 10], 0.8, seed=[1, 2])
        self.assertAllEqual(tf.reduce_sum(mask, axis=1), [8.0] * 64)
        self.assertAllEqual(mask, latent.random_mask([64, 10], 0.8, seed=[1, 2]))
        self.assertNotAllEqual(mask, latent.random_mask([64, 10], 0.8, seed=[1, 3]))
        # Rows are drawn independently: not all rows the same subset.
        self.assertGreater(len({tuple(r) for r in mask.numpy()}), 1)
        self.assertAllEqual(latent.random_mask([2, 4], 1.0, [0, 0]), tf.ones([2, 4]))
        self.assertAllEqual(latent.random_mask([2, 4], 0.0, [0, 0]), tf.zeros([2, 4]))
        with self.assertRaisesRegex(ValueError, "got 1.5"):
            latent.random_mask([2, 4], 1.5, [0, 0])


class OptimiseTest(tf.test.TestCase):

    def test_n_steps_run_n_updates(self):
        # f(z) = -sum((z - t)^2): g = -2 (z - t), so GD gives z_{k+1} - t = (1 - 2 a)(z_k - t).
        t = tf.constant([[0.3, -0.2, 0.1]])
        z0 = tf.constant([[0.9, 0.5, -0.7]])
        alpha = 0.1
        for n in (0, 1, 3, 7):
            calls = []

            def score(z):
                calls.append(1)
                return -tf.reduce_sum(tf.square(z - t), axis=-1)

            result = latent.optimize_latents(z0, score, latent.GradientStep(alpha), num_steps=n)
            self.assertLen(calls, n)
            self.assertEqual(result.num_updates, n)
            self.assertAllClose(result.z, t + (1 - 2 * alpha) ** n * (z0 - t), atol=1e-6)
            # sum_k ||dz_k||^2 with dz_k = -2 a (1 - 2 a)^k (z0 - t).
            sq = float(tf.reduce_sum(tf.square(z0 - t)))
            want = sum((2 * alpha) ** 2 * (1 - 2 * alpha) ** (2 * k) * sq for k in range(n))
            self.assertAllClose(result.step_sq_norm, [want], atol=1e-6)

    def test_mask_leaves_the_other_dimensions_untouched_and_clips(self):
        w = tf.constant([[1.0, -2.0, 0.5, 3.0]])
        z0 = tf.constant([[0.1, -0.2, 0.3, 0.9], [0.0, 0.5, -0.5, 0.2]])
        mask = tf.constant([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0]])
        step = latent.NaturalGradientStep(alpha=0.9, beta=0.1)
        result = latent.optimize_latents(z0, lambda z: tf.reduce_sum(w * z, -1), step, 1, mask)
        g = np.array([[1.0, 0.0, 0.5, 3.0], [0.0, -2.0, 0.0, 0.0]])  # masked gradient
        dz = 0.9 / (0.1 + (g ** 2).sum(1, keepdims=True)) * g
        want = np.clip(z0.numpy() + dz, -1.0, 1.0)
        self.assertAllClose(result.z, want, atol=1e-6)
        self.assertEqual(float(result.z[0, 3]), 1.0)  # 0.9 + 0.26 clipped
        self.assertAllEqual(tf.boolean_mask(result.z, mask == 0), tf.boolean_mask(z0, mask == 0))
        self.assertAllClose(result.step_sq_norm, (dz ** 2).sum(1), atol=1e-6)

    def test_the_step_is_differentiated_through_unless_told_not_to(self):
        # f(z) = v * z: z' = z + a v, d f(z') / dv = z + 2 a v (eq. 6), z + a v when stopped.
        v = tf.Variable([[0.5]])
        z0 = tf.constant([[0.2]])
        alpha = 0.3
        grads = []
        for create_graph in (True, False):
            with tf.GradientTape() as tape:
                result = latent.optimize_latents(
                    z0, lambda z: tf.reduce_sum(v * z, -1), latent.GradientStep(alpha), 1,
                    create_graph=create_graph)
                f = tf.reduce_sum(v * result.z)
            grads.append(float(tape.gradient(f, v)[0, 0]))
        self.assertAllClose(grads, [0.2 + 2 * alpha * 0.5, 0.2 + alpha * 0.5])


if __name__ == "__main__":
    tf.test.main()
