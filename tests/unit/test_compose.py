"""Methods composed from parts: each new combination and each literal variant against a small
hand-written reference of its combined equations, on tiny nets; and the combinations that cannot
work, refused at configuration time."""

import os

import numpy as np
import tensorflow as tf

from tests.support.compose import (B, C, D_LR, FRACTION, G_LR, Z, assert_nets, copy_nets,
                                   fit_once, make_batch, make_nets, make_trainer, sgd_step,
                                   step_latents)
from tests.support import ROOT
from tests.support.runs import build
from tfgan_fast.algorithms import real_inputs as attacks
from tfgan_fast.algorithms import latents as latent
from tfgan_fast.algorithms import losses
from tfgan_fast.algorithms import penalties
from tfgan_fast.algorithms import (FARGAN, LOGAN, FakeAsReal, FastGAN, FreeAdversarial,
                                   GANTrainer, LatentOptimization, PGDAttack, RobGAN,
                                   StandardGAN)
from tfgan_fast.runtime.randomness import Salt

ALPHA, BETA, W_R = 0.9, 0.1, 0.1


def _latent_ngd(g_net, d_net, z, labels, mask):
    """LOGAN eq. 16 by hand: `z' = clip(z + mask * alpha / (beta + ||g||^2) g)`, `g` the masked
    gradient of `D(G(z))`; returns `(z', w_r ||dz||^2)`, recorded for any enclosing tape."""
    with tf.GradientTape() as tape:
        tape.watch(z)
        score = tf.reduce_sum(d_net(g_net(z, labels), labels)["logits"])
    g = tape.gradient(score, z) * mask
    dz = ALPHA / (BETA + tf.reduce_sum(tf.square(g), -1, keepdims=True)) * g * mask
    return tf.clip_by_value(z + dz, -1.0, 1.0), W_R * tf.reduce_sum(tf.square(dz), -1)


def _logan_part(**kwargs):
    return LatentOptimization(latent.NaturalGradientStep(ALPHA, BETA), latent_weight=W_R,
                              optimized_fraction=FRACTION, latent_steps=1, **kwargs)


def _moved(test, before, net):
    test.assertTrue(any(not np.allclose(b, v.numpy())
                        for b, v in zip(before, net.trainable_variables)))


class FastGANWithLOGANTest(tf.test.TestCase):
    """Free adversarial D (M replays on one fake batch made from NGD-optimized latents, D's
    gradient stopped at the latent step) and a G step through LOGAN's latent step."""

    def test_one_iteration_matches_the_combined_equations(self):
        t = make_trainer(FastGAN, free_steps=2, radius=0.05, tau=0.02,
                         latent_transform=_logan_part(stop_gradient_d=True),
                         latent_sampler=latent.uniform_latents)
        g_ref, d_ref = copy_nets(t)
        x, y = make_batch()
        loss = losses.FastGANLoss()
        rng = t.step_random()
        z, y_f, mask = step_latents(t, B, rng, "d")
        z1, r1 = _latent_ngd(g_ref, d_ref, z, y_f, mask)
        fakes = g_ref(z1, y_f)
        delta = t.real_transform.delta.numpy()
        for _ in range(2):
            x_adv = tf.constant(np.clip(x + delta, -1.0, 1.0))
            with tf.GradientTape() as tape:
                tape.watch(x_adv)
                real = tf.reduce_mean(loss.d_real(d_ref(x_adv), y)[0])
                total = real + tf.reduce_mean(loss.d_fake(d_ref(fakes), y_f)[0] + r1)
            grads = tape.gradient(total, d_ref.trainable_variables + [x_adv])
            sgd_step(d_ref, grads[:-1], D_LR)  # g_x of L_D^r: L_D^f does not depend on x_adv
            delta = np.clip(delta + 0.02 * np.sign(grads[-1].numpy()), -0.05, 0.05)
        z, y_g, mask = step_latents(t, B, rng, "g")
        with tf.GradientTape() as tape:
            z2, r2 = _latent_ngd(g_ref, d_ref, z, y_g, mask)
            g_loss = tf.reduce_mean(loss.g(d_ref(g_ref(z2, y_g)), y_g)[0] + r2)
        sgd_step(g_ref, tape.gradient(g_loss, g_ref.trainable_variables), G_LR)
        fit_once(t, x, y)
        assert_nets(self, t, g_ref, d_ref)
        self.assertAllClose(t.real_transform.delta, delta, atol=1e-6)


class FARGANWithLOGANTest(tf.test.TestCase):
    """Fake-as-real with the 0-GP, its M + f*N0 latents NGD-optimized, D's and G's gradients
    through the latent step."""

    def test_one_iteration_matches_the_combined_equations(self):
        n, m, n0, f = 4, 4, 2, 2
        t = make_trainer(FARGAN, num_classes=0, batch=n, num_far=n0, far_factor=f, num_fake=m,
                         latent_transform=_logan_part(), latent_sampler=latent.uniform_latents)
        g_ref, d_ref = copy_nets(t)
        x, _ = make_batch(n, 0)
        rng = t.step_random()
        z, _, mask = step_latents(t, m + f * n0, rng, "d")
        logits = lambda v: d_ref(v)["logits"]  # noqa: E731
        with tf.GradientTape() as tape:
            z1, r1 = _latent_ngd(g_ref, d_ref, z, None, mask)
            generated = g_ref(z1)
            fakes, candidates = generated[:m], generated[m:]
            lowest = np.argsort(logits(candidates).numpy())[:n0]  # eq. 10
            positives = tf.stop_gradient(
                tf.concat([x[:n - n0], tf.gather(candidates, lowest)], 0))
            with tf.GradientTape() as inner:
                inner.watch(positives)
                pos_logits = logits(positives)
                pos_sum = tf.reduce_sum(pos_logits)
            grad_x = inner.gradient(pos_sum, positives)
            penalty = 10.0 * tf.reduce_sum(tf.square(grad_x), [1, 2, 3])
            d_loss = (tf.reduce_mean(tf.nn.softplus(-pos_logits))
                      + tf.reduce_mean(tf.nn.softplus(logits(fakes)) + r1[:m])
                      + tf.reduce_mean(penalty))  # eq. 11 plus R_z on the M fakes
        sgd_step(d_ref, tape.gradient(d_loss, d_ref.trainable_variables), D_LR)
        z, _, mask = step_latents(t, m, rng, "g")
        with tf.GradientTape() as tape:
            z2, r2 = _latent_ngd(g_ref, d_ref, z, None, mask)
            g_loss = tf.reduce_mean(tf.nn.softplus(-logits(g_ref(z2))) + r2)
        sgd_step(g_ref, tape.gradient(g_loss, g_ref.trainable_variables), G_LR)
        before = [v.numpy() for v in t.discriminator.trainable_variables]
        fit_once(t, x, np.zeros([n], np.int32))
        _moved(self, before, t.discriminator)
        assert_nets(self, t, g_ref, d_ref)


class RobGANWithFastGANLossTest(tf.test.TestCase):
    """PGD on FastGAN's real loss (hinge + CE), then one D update on the FastGAN loss."""

    def test_d_step_matches_the_combined_equations(self):
        t = make_trainer(RobGAN, pgd_steps=2, radius=0.05, tau=0.02, loss=losses.FastGANLoss())
        _, d_ref = copy_nets(t)
        x, y = make_batch()
        rng = t.step_random()
        sigma = attacks.uniform_delta([B, 4, 4, 1], 0.05, rng.seed(Salt.ATTACK_INIT)).numpy()
        for _ in range(2):
            x_adv = tf.constant(np.clip(x + sigma, -1.0, 1.0))
            with tf.GradientTape() as tape:
                tape.watch(x_adv)
                out = d_ref(x_adv)
                attack = tf.reduce_sum(
                    tf.nn.relu(1.0 - out["logits"])
                    + tf.nn.sparse_softmax_cross_entropy_with_logits(y, out["class_logits"]))
            sigma = np.clip(sigma + 0.02 * np.sign(tape.gradient(attack, x_adv).numpy()),
                            -0.05, 0.05)
        z, y_f, _ = step_latents(t, B, rng, "d")
        fakes = t.generator(z, y_f, training=True)
        loss = losses.FastGANLoss()
        with tf.GradientTape() as tape:
            total = (tf.reduce_mean(loss.d_real(d_ref(np.clip(x + sigma, -1, 1)), y)[0])
                     + tf.reduce_mean(loss.d_fake(d_ref(fakes), y_f)[0]))
        sgd_step(d_ref, tape.gradient(total, d_ref.trainable_variables), D_LR)
        logs = t.discriminator_step(tf.constant(x), tf.constant(y), rng)
        assert_nets(self, t, None, d_ref)
        self.assertIn("d_fake_kl", logs)


class SNGANWithFreeAdversarialTest(tf.test.TestCase):
    """Hinge D steps (n_disc = 2, each on its own reals and fakes) on reals perturbed by the
    persistent delta, which each update's input gradient moves."""

    def test_two_d_steps_match_the_combined_equations(self):
        t = make_trainer(StandardGAN, n_disc=2, real_transform=FreeAdversarial(0.05, 0.02))
        _, d_ref = copy_nets(t)
        x, y = make_batch(2 * B)
        delta = t.real_transform.delta.numpy()
        for i in range(2):
            xi = x[i * B:(i + 1) * B]
            z, y_f, _ = step_latents(t, B, t.step_random(i), "d")
            fakes = t.generator(z, y_f, training=True)
            x_adv = tf.constant(np.clip(xi + delta, -1.0, 1.0))
            with tf.GradientTape() as tape:
                tape.watch(x_adv)
                real = tf.reduce_mean(tf.nn.relu(1.0 - d_ref(x_adv)["logits"]))
                total = real + tf.reduce_mean(tf.nn.relu(1.0 + d_ref(fakes)["logits"]))
            grads = tape.gradient(total, d_ref.trainable_variables + [x_adv])
            sgd_step(d_ref, grads[:-1], D_LR)
            delta = np.clip(delta + 0.02 * np.sign(grads[-1].numpy()), -0.05, 0.05)
        fit_once(t, x, y)
        assert_nets(self, t, None, d_ref)
        self.assertAllClose(t.real_transform.delta, delta, atol=1e-6)


class LiteralVariantsTest(tf.test.TestCase):

    def test_fastgan_alg1_separate_steps(self):
        """FastGAN paper Alg. 1 literally: per replay a step on L_D^r (line 9), the delta step
        (line 10), then L_D^f's gradient at the updated weights and a second step (11-12)."""
        t = make_trainer(FastGAN, free_steps=2, radius=0.05, tau=0.02, replay_update="separate")
        g_ref, d_ref = copy_nets(t)
        x, y = make_batch()
        loss = losses.FastGANLoss()
        rng = t.step_random()
        z, y_f, _ = step_latents(t, B, rng, "d")
        fakes = g_ref(z, y_f)
        delta = t.real_transform.delta.numpy()
        for _ in range(2):
            x_adv = tf.constant(np.clip(x + delta, -1.0, 1.0))
            with tf.GradientTape() as tape:
                tape.watch(x_adv)
                real = tf.reduce_mean(loss.d_real(d_ref(x_adv), y)[0])
            grads = tape.gradient(real, d_ref.trainable_variables + [x_adv])
            sgd_step(d_ref, grads[:-1], D_LR)
            delta = np.clip(delta + 0.02 * np.sign(grads[-1].numpy()), -0.05, 0.05)
            with tf.GradientTape() as tape:
                fake = tf.reduce_mean(loss.d_fake(d_ref(fakes), y_f)[0])
            sgd_step(d_ref, tape.gradient(fake, d_ref.trainable_variables), D_LR)
        joint = make_trainer(FastGAN, free_steps=2, radius=0.05, tau=0.02)
        t.discriminator_step(tf.constant(x), tf.constant(y), rng)
        joint.discriminator_step(tf.constant(x), tf.constant(y), joint.step_random())
        assert_nets(self, t, None, d_ref)
        self.assertAllClose(t.real_transform.delta, delta, atol=1e-6)
        self.assertEqual(int(t.d_optimizer.iterations), 4)  # two optimiser steps per replay
        self.assertNotAllClose(t.discriminator.trainable_variables[0],
                               joint.discriminator.trainable_variables[0])

    def test_logan_alg1_simultaneous_update(self):
        """LOGAN paper Alg. 1 literally: one z' per iteration; L_D and L_G (each + R_z) from one
        forward pass; D and G updated together from the weights before the iteration."""
        t = make_trainer(LOGAN, latent_step=latent.NaturalGradientStep(ALPHA, BETA),
                         latent_weight=W_R, optimized_fraction=FRACTION,
                         update_order="simultaneous")
        g_ref, d_ref = copy_nets(t)
        x, y = make_batch()
        z, y_f, mask = step_latents(t, B, t.step_random(), "d")
        with tf.GradientTape(persistent=True) as tape:
            z1, r = _latent_ngd(g_ref, d_ref, z, y_f, mask)
            fake_logits = d_ref(g_ref(z1, y_f))["logits"]
            d_loss = (tf.reduce_mean(tf.nn.relu(1.0 - d_ref(x)["logits"]))
                      + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits) + r))
            g_loss = tf.reduce_mean(-fake_logits + r)
        d_grads = tape.gradient(d_loss, d_ref.trainable_variables)
        g_grads = tape.gradient(g_loss, g_ref.trainable_variables)
        sgd_step(d_ref, d_grads, D_LR)
        sgd_step(g_ref, g_grads, G_LR)
        fit_once(t, x, y)
        assert_nets(self, t, g_ref, d_ref)
        self.assertEqual(int(t.d_optimizer.iterations), 1)
        self.assertEqual(int(t.g_optimizer.iterations), 1)


class RefusedCombinationsTest(tf.test.TestCase):
    """A combination that cannot work fails when the trainer is built, naming the parts."""

    def _refused(self, pattern, cls, **kwargs):
        g, d = make_nets(kwargs.pop("num_classes", C))
        with self.assertRaisesRegex(ValueError, pattern):
            cls(g, d, z_dim=Z, num_classes=0 if cls is FARGAN else C, **kwargs)

    def test_each_refusal(self):
        self._refused("LOGAN sets its own latent_transform", LOGAN,
                      latent_transform=_logan_part())
        self._refused("FastGAN sets its own real_transform", FastGAN,
                      real_transform=PGDAttack())
        self._refused("FARGAN sets its own batch", FARGAN, num_classes=0, batch=FakeAsReal())
        self._refused("input gradient .* gradient penalty", GANTrainer,
                      real_transform=FreeAdversarial(), penalty=penalties.SamplePenalty())
        self._refused("needs the standard batch", GANTrainer,
                      real_transform=FreeAdversarial(), batch=FakeAsReal())
        self._refused("stop_gradient_d = True", FastGAN, latent_transform=_logan_part())
        self._refused("replay_update = 'separate'", LOGAN, replay_update="separate")
        self._refused("simultaneous.*n_disc = 2", LOGAN, update_order="simultaneous",
                      n_disc=2)
        self._refused("simultaneous.*real-input transform", RobGAN,
                      update_order="simultaneous")
        self._refused("replay_update must be one of", GANTrainer, replay_update="twice")


class CombinationGinTest(tf.test.TestCase):
    """Each combination is a gin file of bindings on the presets."""

    def _trainer(self, name, params=()):
        path = os.path.join(ROOT, "gin", "fmnist", name)
        return build([path], ["TRAIN_STEPS = 30"] + list(params)).trainer

    def test_combination_files(self):
        t = self._trainer("fastgan_logan.gin")
        self.assertIsInstance(t, FastGAN)
        self.assertIsInstance(t.latent_transform, LatentOptimization)
        self.assertEqual((t.d_replays, t.latent_transform.latent_weight,
                          t.latent_transform.stop_gradient_d, t.latent_sampler.__name__),
                         (2, 0.1, True, "uniform_latents"))
        t = self._trainer("fargan_logan.gin")
        self.assertIsInstance(t, FARGAN)
        self.assertEqual((t.batch.num_far, t.latent_transform.optimized_fraction), (32, 0.8))
        t = self._trainer("robgan_fastganloss.gin")
        self.assertIsInstance(t.real_transform, PGDAttack)
        self.assertEqual(t.loss.name, "FastGANLoss")
        t = self._trainer("sngan_free.gin")
        self.assertIsInstance(t, StandardGAN)
        self.assertEqual((t.real_transform.radius, t.n_disc, t.discriminator.spectral_norm),
                         (0.006, 5, True))


if __name__ == "__main__":
    tf.test.main()
