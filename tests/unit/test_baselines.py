"""SNGAN / SNGAN(AC) / SAGAN (`StandardGAN`) and RobGAN, against hand-written references."""

import numpy as np
import keras
import tensorflow as tf

from tests.support import strategies
from tests.support.baselines import B, C, batch, make_trainer
from tests.support.tiny_nets import TinyDiscriminator, TinyGenerator
from tfgan_fast.algorithms import real_inputs as attacks
from tfgan_fast.algorithms import losses
from tfgan_fast.algorithms import RobGAN, StandardGAN
from tfgan_fast.runtime.randomness import Salt

def _fit(trainer, x, y, steps=1):
    trainer.fit(tf.data.Dataset.from_tensors((x, y)).repeat(), epochs=1, steps_per_epoch=steps,
                verbose=0)


def _copy_of(net, sample_input, weights):
    ref = TinyDiscriminator(num_classes=C)
    ref(sample_input)
    for v, w in zip(ref.trainable_variables, weights):
        v.assign(w)
    return ref


class AdversarialLossTest(tf.test.TestCase):

    def test_hinge_with_class_terms_hand_computed(self):
        logits = tf.constant([-0.5, 2.0])
        class_logits = tf.constant([[0.0, 0.0], [np.log(3.0), 0.0]])
        labels = tf.constant([0, 1])
        # CE: uniform over 2 -> log 2; softmax [3/4, 1/4] at label 1 -> log 4.
        ce = np.array([np.log(2.0), np.log(4.0)])
        loss = losses.AdversarialLoss(real_class_weight=0.5, fake_class_weight=0.25,
                                      g_class_weight=2.0)
        out = {"logits": logits, "class_logits": class_logits}
        self.assertAllClose(loss.d_real(out, labels)[0], np.array([1.5, 0.0]) + 0.5 * ce)
        self.assertAllClose(loss.d_fake(out, labels)[0], np.array([0.5, 3.0]) + 0.25 * ce)
        self.assertAllClose(loss.g(out, labels)[0], np.array([0.5, -2.0]) + 2.0 * ce)

    def test_plain_loss_needs_no_class_head_and_takes_other_families(self):
        loss = losses.AdversarialLoss(losses.nonsaturating_d_real, losses.nonsaturating_d_fake,
                                      losses.nonsaturating_g)
        out = {"logits": tf.constant([0.0, np.log(3.0)])}
        # -log sigmoid(0) = log 2; -log sigmoid(log 3) = log(4/3); -log(1 - sigmoid(log 3)) = log 4
        per_example, parts = loss.d_real(out, None)
        self.assertAllClose(per_example, [np.log(2.0), np.log(4.0 / 3.0)])
        self.assertEqual(set(parts), {"d_real_adv"})
        self.assertAllClose(loss.d_fake(out, None)[0], [np.log(2.0), np.log(4.0)])

    def test_bad_arguments_are_named(self):
        with self.assertRaisesRegex(ValueError, "g_class_weight"):
            losses.AdversarialLoss(g_class_weight=-1.0)
        with self.assertRaisesRegex(ValueError, "d_real_fn"):
            losses.AdversarialLoss(d_real_fn="hinge")
        with self.assertRaisesRegex(ValueError, "auxiliary-classifier"):
            losses.AdversarialLoss(real_class_weight=1.0).d_real({"logits": tf.zeros([2])},
                                                                 [0, 1])


class PGDTest(tf.test.TestCase):
    """A linear D, `loss(x) = <w, x>` per example: the gradient is `w` everywhere."""

    def setUp(self):
        super().setUp()
        rng = np.random.RandomState(1)
        self.w = tf.constant(rng.normal(size=(1, 4, 4, 1)).astype("float32"))
        self.x = tf.constant(rng.uniform(-0.5, 0.5, (2, 4, 4, 1)).astype("float32"))
        self.loss_fn = lambda x: tf.reduce_sum(self.w * x, axis=[1, 2, 3])

    def test_k_steps_move_by_tau_sign_grad_and_stay_in_ball(self):
        start = attacks.uniform_delta([2, 4, 4, 1], 0.05, seed=[0, 1])
        self.assertLessEqual(float(tf.reduce_max(tf.abs(start))), 0.05)
        for steps in (0, 1, 2, 7):
            delta = attacks.pgd(self.loss_fn, self.x, start, steps, tau=0.01, eps=0.05)
            expected = np.clip(start.numpy() + steps * 0.01 * np.sign(self.w.numpy()),
                               -0.05, 0.05)
            self.assertAllClose(delta, expected, atol=1e-6, msg=f"steps={steps}")
            self.assertLessEqual(float(tf.reduce_max(tf.abs(delta))), 0.05 + 1e-7)

    def test_attack_increases_the_loss(self):
        start = tf.zeros([2, 4, 4, 1])
        delta = attacks.pgd(self.loss_fn, self.x, start, 3, tau=0.02, eps=0.05)
        clean = self.loss_fn(self.x)
        attacked = self.loss_fn(attacks.perturb(self.x, delta))
        self.assertTrue(np.all(attacked.numpy() > clean.numpy()))
        # The loss rises by sum |w| * min(3 tau, eps) when no pixel hits the [-1, 1] border.
        self.assertAllClose(attacked - clean, [0.05 * np.abs(self.w.numpy()).sum()] * 2,
                            rtol=1e-5)

    def test_result_carries_no_gradient(self):
        with tf.GradientTape() as tape:
            tape.watch(self.x)
            delta = attacks.pgd(self.loss_fn, self.x, tf.zeros_like(self.x), 2, 0.01, 0.05)
        self.assertIsNone(tape.gradient(delta, self.x))


class StandardGANTest(tf.test.TestCase):

    def test_d_step_matches_hand_written_hinge_update(self):
        trainer = make_trainer(StandardGAN, n_disc=1)
        x, y = batch()
        d0 = [v.numpy() for v in trainer.discriminator.trainable_variables]
        rng = trainer.step_random()
        fakes = trainer.generator(trainer.sample_latents(B, Salt.D_LATENTS, rng),
                                  trainer.sample_labels(B, Salt.D_LABELS, rng), training=True)
        ref = _copy_of(trainer.discriminator, fakes, d0)
        with tf.GradientTape() as tape:
            # SNGAN's hinge: mean relu(1 - D(x_r)) + mean relu(1 + D(x_f)).
            total = (tf.reduce_mean(tf.nn.relu(1.0 - ref(x)["logits"]))
                     + tf.reduce_mean(tf.nn.relu(1.0 + ref(fakes)["logits"])))
        # The class head is unused by the hinge loss: its gradient is None, its weights stay.
        grads = [np.zeros(v.shape) if g is None else g.numpy()
                 for v, g in zip(ref.trainable_variables,
                                 tape.gradient(total, ref.trainable_variables))]
        trainer.discriminator_step(tf.constant(x), tf.constant(y), trainer.step_random())
        for v, w, g in zip(trainer.discriminator.trainable_variables, d0, grads):
            self.assertAllClose(v, w - 0.1 * g, atol=1e-6)

    def test_n_disc_d_updates_per_g_update_each_with_its_own_batches(self):
        trainer = make_trainer(StandardGAN, n_disc=5)
        self.assertEqual(trainer.real_batches_per_iteration, 5)
        x, y = batch(5 * B)
        _fit(trainer, x, y, steps=2)
        self.assertEqual(int(trainer.d_optimizer.iterations.numpy()), 10)
        self.assertEqual(int(trainer.g_optimizer.iterations.numpy()), 2)
        self.assertEqual(int(trainer.iteration), 2)
        # Fakes of different D steps of one iteration come from different latents.
        seeds = []
        for i in range(5):
            seeds.append(trainer.sample_latents(B, Salt.D_LATENTS, trainer.step_random(i)).numpy())
        for i in range(1, 5):
            self.assertGreater(np.abs(seeds[i] - seeds[0]).max(), 0.1)


class StepsPerExecutionArgumentTest(tf.test.TestCase):
    """The trainer's `steps_per_execution` argument: K iterations per call of `fit`'s function,
    the same updates as one per call; a bad value is named."""

    def test_k_iterations_per_call_and_the_same_updates(self):
        x, y = batch()
        calls, weights = [], []
        for k in (1, 2):
            trainer = make_trainer(StandardGAN, steps_per_execution=k)
            self.assertEqual(trainer.steps_per_execution, k)
            counter = keras.callbacks.LambdaCallback(
                on_train_batch_end=lambda batch, logs: calls[-1].append(batch))
            calls.append([])
            trainer.fit(tf.data.Dataset.from_tensors((x, y)).repeat(), epochs=1,
                        steps_per_epoch=4, verbose=0, callbacks=[counter])
            self.assertEqual(int(trainer.iteration.numpy()), 4)
            weights.append([v.numpy() for v in trainer.discriminator.trainable_variables])
        self.assertEqual([len(c) for c in calls], [4, 2])
        for a, b in zip(*weights):
            self.assertAllClose(a, b, atol=1e-6)

    def test_bad_value_is_named(self):
        for bad in (0, 1.5):
            with self.assertRaisesRegex(ValueError, rf"steps_per_execution must be an integer "
                                                    rf">= 1, got {bad}"):
                StandardGAN(TinyGenerator(num_classes=C), TinyDiscriminator(C), z_dim=4,
                            num_classes=C, steps_per_execution=bad)


class RobGANTest(tf.test.TestCase):

    def test_d_step_matches_reference_pgd_then_update(self):
        trainer = make_trainer(RobGAN, n_disc=1, pgd_steps=2, radius=0.05, tau=0.02)
        x, y = batch()
        d0 = [v.numpy() for v in trainer.discriminator.trainable_variables]
        loss = losses.RobGANLoss()
        start = attacks.uniform_delta([B, 4, 4, 1], 0.05,
                                      trainer.step_random().seed(Salt.ATTACK_INIT)).numpy()
        rng = trainer.step_random()
        fakes = trainer.generator(trainer.sample_latents(B, Salt.D_LATENTS, rng),
                                  trainer.sample_labels(B, Salt.D_LABELS, rng), training=True)
        y_f = trainer.sample_labels(B, Salt.D_LABELS, trainer.step_random())
        ref = _copy_of(trainer.discriminator, fakes, d0)
        sigma = start
        for _ in range(2):  # PGD by hand: ascent on BCE(real) + CE on the perturbed reals
            x_adv = tf.constant(np.clip(x + sigma, -1, 1))
            with tf.GradientTape() as tape:
                tape.watch(x_adv)
                out = ref(x_adv)
                attack_loss = tf.reduce_sum(
                    tf.nn.softplus(-out["logits"])
                    + tf.nn.sparse_softmax_cross_entropy_with_logits(y, out["class_logits"]))
            sigma = np.clip(sigma + 0.02 * np.sign(tape.gradient(attack_loss, x_adv).numpy()),
                            -0.05, 0.05)
        x_adv = tf.constant(np.clip(x + sigma, -1, 1))
        with tf.GradientTape() as tape:
            total = (tf.reduce_mean(loss.d_real(ref(x_adv), y)[0])
                     + tf.reduce_mean(loss.d_fake(ref(fakes), y_f)[0]))
        grads = tape.gradient(total, ref.trainable_variables)
        logs = trainer.discriminator_step(tf.constant(x), tf.constant(y), trainer.step_random())
        self.assertLessEqual(float(logs["sigma_linf"]), 0.05 + 1e-7)
        for v, w, g in zip(trainer.discriminator.trainable_variables, d0, grads):
            self.assertAllClose(v, w - 0.1 * g.numpy(), atol=1e-5)

    def test_n_disc_5_does_5_d_updates_per_g_update(self):
        trainer = make_trainer(RobGAN, n_disc=5, pgd_steps=3, radius=0.006, tau=0.002)
        x, y = batch(5 * B)
        _fit(trainer, x, y, steps=1)
        self.assertEqual(int(trainer.d_optimizer.iterations.numpy()), 5)
        self.assertEqual(int(trainer.g_optimizer.iterations.numpy()), 1)

    def test_two_replicas_equal_one_device(self):
        mirrored = strategies.two_cpu_mirrored()
        if mirrored is None:
            self.skipTest("needs 2 logical CPUs (tests/conftest.py)")
        x, y = batch(2 * B)
        one = make_trainer(RobGAN, n_disc=2, pgd_steps=2, radius=0.05, tau=0.02)
        two = make_trainer(RobGAN, mirrored, n_disc=2, pgd_steps=2, radius=0.05, tau=0.02)
        _fit(one, x, y, steps=2)
        # Each replica takes half of the fed batch and cuts it into n_disc chunks; feed the
        # rows so that D step k sees the same global real batch as on one device.
        order = np.concatenate([np.arange(0, 4), np.arange(8, 12), np.arange(4, 8),
                                np.arange(12, 16)])
        _fit(two, x[order], y[order], steps=2)
        for a, b in zip(one.generator.variables + one.discriminator.variables,
                        two.generator.variables + two.discriminator.variables):
            self.assertAllClose(a, b, atol=1e-5)

    def test_bad_arguments_are_named(self):
        with self.assertRaisesRegex(ValueError, "pgd_steps"):
            RobGAN(TinyGenerator(), TinyDiscriminator(), z_dim=4, num_classes=C, pgd_steps=-1)
