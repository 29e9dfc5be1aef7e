"""R3GAN (Huang et al. 2024): the RpGAN loss and the R1 + R2 penalties by hand, and one
iteration of the preset against a hand-written reference of its equations on tiny nets."""

import os

import numpy as np
import tensorflow as tf

from tests.support.compose import (B, D_LR, G_LR, assert_nets, copy_nets, fit_once, make_batch,
                                   make_nets, make_trainer, sgd_step, step_latents)
from tests.support import ROOT
from tests.support.runs import build
from tfgan_fast.algorithms import losses
from tfgan_fast.algorithms import penalties
from tfgan_fast.algorithms import FARGAN, R3GAN, FakeAsReal, GANTrainer, PGDAttack

GAMMA = 0.3


def _softplus(v):
    return np.log1p(np.exp(v))


class RelativisticLossTest(tf.test.TestCase):

    def test_pairs_by_hand(self):
        real = {"logits": tf.constant([2.0, -1.0, 0.0])}
        fake = {"logits": tf.constant([0.5, 1.0, 0.0])}
        loss = losses.RelativisticLoss()
        d, parts = loss.d_pair(real, fake, None, None)
        # softplus(D(x_f) - D(x_r)) = softplus([-1.5, 2, 0]); G: softplus(D(x_r) - D(x_f)).
        self.assertAllClose(d, _softplus(np.array([-1.5, 2.0, 0.0])))
        self.assertAllClose(parts["d_pair_adv"], d)
        g, _ = loss.g_pair(real, fake, None)
        self.assertAllClose(g, _softplus(np.array([1.5, -2.0, 0.0])))
        # The pair's order matters: swapping real and fake swaps D's and G's terms.
        self.assertAllClose(loss.d_pair(fake, real, None, None)[0], g)

    def test_class_terms_and_bad_sizes(self):
        out = {"logits": tf.zeros([2]), "class_logits": tf.constant([[0.0, 0.0], [np.log(3.0),
                                                                                  0.0]])}
        loss = losses.RelativisticLoss(real_class_weight=2.0, g_class_weight=0.5)
        d, _ = loss.d_pair(out, out, tf.constant([0, 1]), None)
        self.assertAllClose(d, np.log(2.0) + 2.0 * np.array([np.log(2.0), np.log(4.0)]))
        g, _ = loss.g_pair(out, out, tf.constant([0, 1]))
        self.assertAllClose(g, np.log(2.0) + 0.5 * np.array([np.log(2.0), np.log(4.0)]))
        with self.assertRaisesRegex(ValueError, "3 reals and 2 fakes"):
            loss.d_pair({"logits": tf.zeros([3])}, {"logits": tf.zeros([2])}, None, None)
        with self.assertRaisesRegex(ValueError, "g_class_weight must be >= 0"):
            losses.RelativisticLoss(g_class_weight=-1.0)


class R1R2PenaltyTest(tf.test.TestCase):

    def test_linear_d(self):
        # D(x) = <w, x> + b: both input gradients are w, so each pair's penalty is
        # gamma / 2 * 2 ||w||^2 = gamma ||w||^2; D's outputs come from the same passes.
        w = tf.constant([0.5, -2.0, 1.5])
        d_fn = lambda x, y: {"logits": tf.linalg.matvec(x, w) + 1.0}  # noqa: E731
        reals = tf.random.stateless_normal([4, 3], seed=[0, 1])
        fakes = tf.random.stateless_normal([4, 3], seed=[0, 2])
        pen, real_out, fake_out = penalties.R1R2Penalty(GAMMA)(d_fn, reals, None, fakes, None,
                                                               None)
        self.assertAllClose(pen, [GAMMA * 6.5] * 4)
        self.assertAllClose(real_out["logits"], reals.numpy() @ w.numpy() + 1.0)
        self.assertAllClose(fake_out["logits"], fakes.numpy() @ w.numpy() + 1.0)
        with self.assertRaisesRegex(ValueError, "gamma must be >= 0"):
            penalties.R1R2Penalty(-1.0)


class R3GANIterationTest(tf.test.TestCase):

    def test_one_iteration_matches_the_equations(self):
        t = make_trainer(R3GAN, gamma=GAMMA)
        g_ref, d_ref = copy_nets(t)
        x, y = make_batch()
        rng = t.step_random()
        z, y_f, _ = step_latents(t, B, rng, "d")
        fakes = g_ref(z, y_f)

        def logits_and_grad(v):
            v = tf.convert_to_tensor(v)
            with tf.GradientTape() as inner:
                inner.watch(v)
                logits = d_ref(v)["logits"]
                total = tf.reduce_sum(logits)
            return logits, inner.gradient(total, v)

        with tf.GradientTape() as tape:
            real_logits, g_r = logits_and_grad(x)
            fake_logits, g_f = logits_and_grad(fakes)
            r1 = tf.reduce_sum(tf.square(g_r), [1, 2, 3])
            r2 = tf.reduce_sum(tf.square(g_f), [1, 2, 3])
            d_loss = tf.reduce_mean(tf.nn.softplus(fake_logits - real_logits)
                                    + GAMMA / 2 * (r1 + r2))
        sgd_step(d_ref, tape.gradient(d_loss, d_ref.trainable_variables), D_LR)
        z, y_g, _ = step_latents(t, B, rng, "g")
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(tf.nn.softplus(d_ref(x)["logits"]
                                                   - d_ref(g_ref(z, y_g))["logits"]))
        sgd_step(g_ref, tape.gradient(g_loss, g_ref.trainable_variables), G_LR)
        fit_once(t, x, y)
        assert_nets(self, t, g_ref, d_ref)

    def test_refused_combinations(self):
        g, d = make_nets(3)
        with self.assertRaisesRegex(ValueError, "R3GAN sets its own penalty"):
            R3GAN(g, d, z_dim=4, num_classes=3, penalty=penalties.SamplePenalty())
        with self.assertRaisesRegex(ValueError, "pairs each real with a fake.*PGDAttack"):
            R3GAN(g, d, z_dim=4, num_classes=3, real_transform=PGDAttack())
        with self.assertRaisesRegex(ValueError, "pairs each real with a fake.*FakeAsReal"):
            GANTrainer(g, d, z_dim=4, num_classes=3, loss=losses.RelativisticLoss(),
                       batch=FakeAsReal())
        with self.assertRaisesRegex(ValueError, "pairs each real with a fake"):
            FARGAN(g, d, z_dim=4, num_classes=0, loss=losses.RelativisticLoss())

    def test_gin_file(self):
        t = build([os.path.join(ROOT, "gin", "fmnist", "r3gan.gin")],
                  ["TRAIN_STEPS = 30"]).trainer
        self.assertIsInstance(t, R3GAN)
        self.assertIsInstance(t.loss, losses.RelativisticLoss)
        self.assertEqual((t.penalty.gamma, t.n_disc, t.discriminator.spectral_norm,
                          t.discriminator.head), (0.05, 1, False, "projection"))
        self.assertEqual((t.d_optimizer.beta_1, t.d_optimizer.beta_2), (0.0, 0.99))


if __name__ == "__main__":
    tf.test.main()
