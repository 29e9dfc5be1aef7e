"""The free-adversarial update on a linear D, and the learning-rate schedules."""

import numpy as np
import tensorflow as tf

from tfgan_fast.algorithms import real_inputs as attacks
from tfgan_fast.algorithms import losses
from tfgan_fast.algorithms import schedules


class FreeAdversarialUpdateTest(tf.test.TestCase):

    def test_linear_discriminator_moves_by_tau_sign(self):
        # D(x) = <w, x>; on reals with D(x) < 1 the hinge loss is 1 - <w, x>, so
        # dL/dx = -w exactly and the ascent step is delta - tau * sign(w).
        rng = np.random.RandomState(0)
        w = tf.constant(rng.normal(size=[1, 4, 4, 1]).astype("float32"))
        x = tf.zeros([2, 4, 4, 1])
        delta = tf.constant(rng.uniform(-0.004, 0.004, [2, 4, 4, 1]).astype("float32"))
        x_adv = attacks.perturb(x, delta)
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            loss = tf.reduce_sum(losses.hinge_d_real(tf.reduce_sum(w * x_adv, [1, 2, 3])))
        grad = tape.gradient(loss, x_adv)
        self.assertAllClose(grad, -tf.broadcast_to(w, grad.shape))
        new = attacks.free_adversarial_update(delta, grad, tau=0.003, eps=0.006)
        expected = np.clip(delta.numpy() - 0.003 * np.sign(w.numpy()), -0.006, 0.006)
        self.assertAllClose(new, expected)
        # The step raised D's loss (it is an attack).
        loss_after = tf.reduce_sum(losses.hinge_d_real(
            tf.reduce_sum(w * attacks.perturb(x, new), [1, 2, 3])))
        self.assertGreater(float(loss_after), float(loss))

    def test_stays_in_ball_whatever_the_inputs(self):
        rng = np.random.RandomState(1)
        delta = tf.constant(rng.uniform(-0.5, 0.5, [64]).astype("float32"))
        grad = tf.constant(rng.normal(size=[64]).astype("float32"))
        for tau in (0.001, 0.006, 1.0):
            new = attacks.free_adversarial_update(delta, grad, tau, eps=0.006)
            self.assertLessEqual(float(tf.reduce_max(tf.abs(new))), 0.006 + 1e-9)

    def test_perturb_clips_to_image_range(self):
        self.assertAllClose(attacks.perturb(tf.constant([0.999, -0.999, 0.0]),
                                            tf.constant([0.006, -0.006, 0.006])),
                            [1.0, -1.0, 0.006])

    def test_initial_delta_inside_ball_and_seeded(self):
        a = attacks.initial_delta([8, 4], 0.01, seed=[1, 2])
        b = attacks.initial_delta([8, 4], 0.01, seed=[1, 2])
        self.assertAllEqual(a, b)
        self.assertLessEqual(float(tf.reduce_max(tf.abs(a))), 0.01)
        # N(0, 1) clipped to +-0.01: nearly every entry sits on the boundary.
        self.assertGreater(float(tf.reduce_mean(tf.cast(tf.abs(a) == 0.01, tf.float32))), 0.9)


class ScheduleTest(tf.test.TestCase):

    def test_exponential_halving(self):
        s = schedules.ExponentialHalving(2e-4, kappa=80_000)
        self.assertAllClose([s(0), s(80_000), s(160_000), s(40_000)],
                            [2e-4, 1e-4, 5e-5, 2e-4 / np.sqrt(2.0)])

    def test_linear_decay(self):
        s = schedules.LinearDecay(2e-4, total_steps=100)
        self.assertAllClose([s(0), s(50), s(100), s(150)], [2e-4, 1e-4, 0.0, 0.0])

    def test_exponential_halving_over_a_run_length(self):
        # kappa = 300 / 3 = 100: halves at 100, 200, 300 whatever the run's length.
        s = schedules.ExponentialHalving(2e-4, kappa=80_000, total_steps=300, halvings=3)
        self.assertAllClose([float(s(t)) for t in (0, 100, 150, 300)],
                            [2e-4, 1e-4, 2e-4 * 0.5 ** 1.5, 2.5e-5])
        self.assertEqual(s.get_config()["kappa"], 100.0)
        with self.assertRaisesRegex(ValueError, r"total_steps \(0\)"):
            schedules.ExponentialHalving(total_steps=0)

    def test_bad_kappa_names_value(self):
        with self.assertRaisesRegex(ValueError, "kappa.*-3"):
            schedules.ExponentialHalving(kappa=-3)

    def test_config_round_trip(self):
        s = schedules.ExponentialHalving(1e-3, kappa=10)
        self.assertAllClose(schedules.ExponentialHalving.from_config(s.get_config())(10), 5e-4)


if __name__ == "__main__":
    tf.test.main()
