"""Losses against hand-computed values (inputs `[-5.0, 1.4, 12.5, 2.7]`, as TF-GAN's tests)."""

import numpy as np
import tensorflow as tf

from tfgan_fast.algorithms import losses

LOGITS = tf.constant([-5.0, 1.4, 12.5, 2.7])


class AdversarialTermsTest(tf.test.TestCase):

    def test_hinge(self):
        self.assertAllClose(losses.hinge_d_real(LOGITS), [6.0, 0.0, 0.0, 0.0])
        self.assertAllClose(losses.hinge_d_fake(LOGITS), [0.0, 2.4, 13.5, 3.7])
        self.assertAllClose(losses.hinge_g(LOGITS), [5.0, -1.4, -12.5, -2.7])

    def test_nonsaturating(self):
        self.assertAllClose(losses.nonsaturating_d_real(LOGITS),
                            [5.006715348, 0.220417410, 3.72664623e-06, 0.065043562])
        self.assertAllClose(losses.nonsaturating_d_fake(LOGITS),
                            [0.006715348, 1.620417410, 12.500003727, 2.765043562])
        self.assertAllClose(losses.nonsaturating_g(LOGITS),
                            losses.nonsaturating_d_real(LOGITS))

    def test_wasserstein_and_least_squares(self):
        self.assertAllClose(losses.wasserstein_d_real(LOGITS), [5.0, -1.4, -12.5, -2.7])
        self.assertAllClose(losses.wasserstein_d_fake(LOGITS), [-5.0, 1.4, 12.5, 2.7])
        self.assertAllClose(losses.least_squares_d_real(LOGITS), [18.0, 0.08, 66.125, 1.445])
        self.assertAllClose(losses.least_squares_d_fake(LOGITS), [12.5, 0.98, 78.125, 3.645])


# Row 0 uniform over 3 classes, row 1 p = [0.5, 0.25, 0.25].
CLASS_LOGITS = tf.constant([[0.0, 0.0, 0.0], [np.log(2.0), 0.0, 0.0]])
LABELS = tf.constant([0, 1])


class ClassificationTermsTest(tf.test.TestCase):

    def test_cross_entropy(self):
        self.assertAllClose(losses.classification_ce(LABELS, CLASS_LOGITS),
                            [np.log(3.0), np.log(4.0)])

    def test_kl_uniform_to_pred(self):
        # KL(U || p) = 1/3 [ln(2/3) + 2 ln(4/3)] for p = [1/2, 1/4, 1/4].
        self.assertAllClose(losses.kl_to_uniform(CLASS_LOGITS, "uniform_to_pred"),
                            [0.0, 0.0566330123])

    def test_kl_pred_to_uniform(self):
        # KL(p || U) = 1/2 ln(3/2) + 1/2 ln(3/4).
        self.assertAllClose(losses.kl_to_uniform(CLASS_LOGITS, "pred_to_uniform"),
                            [0.0, 0.0588915178])

    def test_kl_bad_direction_names_value(self):
        with self.assertRaisesRegex(ValueError, "sideways"):
            losses.kl_to_uniform(CLASS_LOGITS, "sideways")
        with self.assertRaisesRegex(ValueError, "sideways"):
            losses.FastGANLoss(kl_direction="sideways")


class CompositionTest(tf.test.TestCase):
    OUT = {"logits": tf.constant([2.0, -1.0]), "class_logits": CLASS_LOGITS}

    def test_fastgan_d_real(self):
        total, parts = losses.FastGANLoss().d_real(self.OUT, LABELS)
        # relu(1 - [2, -1]) = [0, 2]; CE = [ln 3, ln 4].
        self.assertAllClose(total, [np.log(3.0), 2.0 + np.log(4.0)])
        self.assertAllClose(parts["d_real_adv"], [0.0, 2.0])

    def test_fastgan_d_fake_uses_alpha_fc(self):
        total, _ = losses.FastGANLoss(alpha_fc=0.5).d_fake(self.OUT, LABELS)
        # relu(1 + [2, -1]) = [3, 0]; 0.5 * KL(U || p).
        self.assertAllClose(total, [3.0, 0.5 * 0.0566330123])
        no_kl, parts = losses.FastGANLoss(alpha_fc=0.0).d_fake(self.OUT, LABELS)
        self.assertAllClose(no_kl, [3.0, 0.0])
        self.assertNotIn("d_fake_kl", parts)

    def test_fastgan_g_uses_alpha_gc(self):
        total, _ = losses.FastGANLoss(alpha_gc=0.5).g(self.OUT, LABELS)
        self.assertAllClose(total, [-2.0 + 0.5 * np.log(3.0), 1.0 + 0.5 * np.log(4.0)])

    def test_robgan(self):
        loss = losses.RobGANLoss()
        d_real, _ = loss.d_real(self.OUT, LABELS)
        d_fake, _ = loss.d_fake(self.OUT, LABELS)
        g, _ = loss.g(self.OUT, LABELS)
        sp = lambda x: np.log1p(np.exp(x))  # noqa: E731
        self.assertAllClose(d_real, [sp(-2.0) + np.log(3.0), sp(1.0) + np.log(4.0)])
        self.assertAllClose(d_fake, [sp(2.0), sp(-1.0)])
        self.assertAllClose(g, [sp(-2.0) + np.log(3.0), sp(1.0) + np.log(4.0)])

    def test_missing_class_head_is_a_clear_error(self):
        with self.assertRaisesRegex(ValueError, "auxiliary-classifier head"):
            losses.FastGANLoss().d_real({"logits": tf.zeros([2])}, LABELS)


if __name__ == "__main__":
    tf.test.main()
