"""FastGAN's iteration against a hand-written reference of Alg. 1 (Zhong et al. 2020), tiny nets."""

import numpy as np
import keras
import tensorflow as tf

from tests.support import strategies
from tests.support.tiny_nets import TinyDiscriminator, TinyGenerator
from tfgan_fast.algorithms import losses
from tfgan_fast.algorithms import FastGAN
from tfgan_fast.algorithms.optimizers import make_optimizer
from tfgan_fast.runtime.randomness import Salt
from tfgan_fast.nets import ResNetDiscriminator, ResNetGenerator
from tfgan_fast.algorithms.schedules import ExponentialHalving

B, C = 8, 3


def _batch():
    rng = np.random.RandomState(0)
    return (rng.uniform(-1, 1, (B, 4, 4, 1)).astype("float32"),
            rng.randint(0, C, B).astype("int32"))


def _make(strategy, d_lr=0.1, g_lr=0.05, free_steps=2, radius=0.05, tau=0.02,
          schedule=None, **kwargs):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        trainer = FastGAN(TinyGenerator(num_classes=C), TinyDiscriminator(num_classes=C),
                          z_dim=4, num_classes=C, seed=3, free_steps=free_steps,
                          radius=radius, tau=tau, **kwargs)
        if schedule is None:
            g_opt = keras.optimizers.SGD(g_lr)
            d_opt = keras.optimizers.SGD(d_lr)
        else:
            g_opt = make_optimizer(trainer.iteration, schedule=schedule)
            d_opt = make_optimizer(trainer.iteration, schedule=schedule)
        trainer.compile(g_optimizer=g_opt, d_optimizer=d_opt)
        trainer.build_all(B // strategy.num_replicas_in_sync, (4, 4, 1))
        strategy.run(trainer.initialize_state)
    return trainer


def _fit(trainer, steps=1):
    x, y = _batch()
    trainer.fit(tf.data.Dataset.from_tensors((x, y)).repeat(), epochs=1,
                steps_per_epoch=steps, verbose=0)


class FastGANIterationTest(tf.test.TestCase):

    def test_matches_reference_algorithm(self):
        trainer = _make(tf.distribute.get_strategy())
        d_net, g_net = trainer.discriminator, trainer.generator
        x, y = _batch()
        d0 = [v.numpy() for v in d_net.trainable_variables]
        g0 = [v.numpy() for v in g_net.trainable_variables]
        delta = trainer.real_transform.delta.numpy()
        # Reference on copies: the fakes come from the trainer's own (seeded) sampler.
        z = trainer.sample_latents(B, Salt.D_LATENTS, trainer.step_random())
        y_f = trainer.sample_labels(B, Salt.D_LABELS, trainer.step_random())
        fakes = g_net(z, y_f, training=True)
        loss = losses.FastGANLoss()
        ref_d = TinyDiscriminator(num_classes=C)
        ref_d(fakes)
        for v, w in zip(ref_d.trainable_variables, d0):
            v.assign(w)
        for _ in range(2):
            x_adv = tf.clip_by_value(x + delta, -1.0, 1.0)
            # Two separate passes on purpose: g_w of L_D^r + L_D^f, g_x of L_D^r alone.
            with tf.GradientTape() as tape:
                total = (tf.reduce_mean(loss.d_real(ref_d(x_adv), y)[0])
                         + tf.reduce_mean(loss.d_fake(ref_d(fakes), y_f)[0]))
            gw = tape.gradient(total, ref_d.trainable_variables)
            with tf.GradientTape() as tape:
                tape.watch(x_adv)
                real_loss = tf.reduce_mean(loss.d_real(ref_d(x_adv), y)[0])
            gx = tape.gradient(real_loss, x_adv)
            for v, g in zip(ref_d.trainable_variables, gw):
                v.assign_sub(0.1 * g)
            delta = np.clip(delta + 0.02 * np.sign(gx.numpy()), -0.05, 0.05)
        _fit(trainer)
        for got, want in zip(d_net.trainable_variables, ref_d.trainable_variables):
            self.assertAllClose(got, want, atol=1e-6)
        self.assertAllClose(trainer.real_transform.delta, delta, atol=1e-7)
        delta = trainer.real_transform.delta
        self.assertLessEqual(float(tf.reduce_max(tf.abs(delta))), 0.05 + 1e-7)
        # G moved (its step ran) and by the reference G step on the updated D.
        self.assertNotAllClose(g_net.trainable_variables[-1], g0[-1])

    def test_generator_step_matches_reference(self):
        trainer = _make(tf.distribute.get_strategy(), d_lr=0.0)  # D frozen
        g_net, d_net = trainer.generator, trainer.discriminator
        ref_g = TinyGenerator(num_classes=C)
        z = trainer.sample_latents(B, Salt.G_LATENTS, trainer.step_random())
        y_f = trainer.sample_labels(B, Salt.G_LABELS, trainer.step_random())
        ref_g(z, y_f)
        for v, w in zip(ref_g.trainable_variables, g_net.trainable_variables):
            v.assign(w)
        with tf.GradientTape() as tape:
            out = d_net(ref_g(z, y_f))
            g_loss = tf.reduce_mean(losses.FastGANLoss().g(out, y_f)[0])
        grads = tape.gradient(g_loss, ref_g.trainable_variables)
        want = [v - 0.05 * tf.convert_to_tensor(g)
                for v, g in zip(ref_g.trainable_variables, grads)]
        _fit(trainer)
        for got, w in zip(g_net.trainable_variables, want):
            self.assertAllClose(got, w, atol=1e-6)

    def test_m_discriminator_steps_and_one_generator_step(self):
        for m in (1, 3):
            trainer = _make(tf.distribute.get_strategy(), free_steps=m)
            _fit(trainer, steps=2)
            self.assertEqual(int(trainer.iteration.numpy()), 2)
            self.assertEqual(int(trainer.d_optimizer.iterations.numpy()), 2 * m)
            self.assertEqual(int(trainer.g_optimizer.iterations.numpy()), 2)

    def test_radius_zero_disables_the_attack(self):
        trainer = _make(tf.distribute.get_strategy(), radius=0.0, tau=0.0)
        _fit(trainer, steps=2)
        delta = trainer.real_transform.delta
        self.assertAllEqual(delta, tf.zeros_like(delta))

    def test_learning_rate_follows_iterations_not_optimizer_steps(self):
        schedule = ExponentialHalving(1e-3, kappa=4)
        trainer = _make(tf.distribute.get_strategy(), schedule=schedule)
        _fit(trainer, steps=4)  # D optimiser took 8 steps, the schedule sees 4 iterations
        self.assertAllClose(trainer.d_optimizer.learning_rate, 5e-4)
        self.assertAllClose(trainer.g_optimizer.learning_rate, 5e-4)

    def test_delta_survives_a_checkpoint(self):
        trainer = _make(tf.distribute.get_strategy())
        _fit(trainer, steps=1)
        path = tf.train.Checkpoint(**trainer.checkpoint_items()).save(
            self.get_temp_dir() + "/ckpt")
        other = _make(tf.distribute.get_strategy(), d_lr=0.3)
        self.assertNotAllClose(other.real_transform.delta, trainer.real_transform.delta)
        tf.train.Checkpoint(**other.checkpoint_items()).restore(path).assert_consumed()
        self.assertAllClose(other.real_transform.delta, trainer.real_transform.delta)
        self.assertEqual(int(other.iteration.numpy()), 1)
        self.assertEqual(int(other.d_optimizer.iterations.numpy()), 2)


class MixedPrecisionTest(tf.test.TestCase):

    def _first_iteration(self, policy):
        keras.mixed_precision.set_global_policy(policy)
        try:
            keras.utils.set_random_seed(0)
            trainer = FastGAN(ResNetGenerator(resolution=16, channels=3, width=8, z_dim=16,
                                              num_classes=C),
                              ResNetDiscriminator(resolution=16, channels=3, width=8,
                                                  num_classes=C),
                              z_dim=16, num_classes=C, seed=0)
            trainer.compile(g_optimizer=keras.optimizers.Adam(1e-4),
                            d_optimizer=keras.optimizers.Adam(1e-4))
            trainer.build_all(B, (16, 16, 3))
            trainer.initialize_state()
            rng = np.random.RandomState(0)
            x = rng.uniform(-1, 1, (B, 16, 16, 3)).astype("float32")
            y = rng.randint(0, C, B).astype("int32")
            history = trainer.fit(tf.data.Dataset.from_tensors((x, y)).repeat(), epochs=1,
                                  steps_per_epoch=1, verbose=0)
            return trainer, {k: v[0] for k, v in history.history.items()}
        finally:
            keras.mixed_precision.set_global_policy("float32")

    def test_bfloat16_keeps_losses_and_perturbation_in_float32(self):
        full, full_logs = self._first_iteration("float32")
        mixed, mixed_logs = self._first_iteration("mixed_bfloat16")
        self.assertEqual(mixed.real_transform.delta.dtype, tf.float32)
        self.assertEqual(mixed.generator.compute_dtype, "bfloat16")
        self.assertEqual(mixed.generator.trainable_variables[0].dtype, "float32")
        # Same initial weights: the losses differ by bfloat16 rounding only (8-bit mantissa).
        for key in ("d_loss", "g_loss", "d_loss_real", "d_loss_fake"):
            self.assertAllClose(mixed_logs[key], full_logs[key], rtol=3e-2, msg=key)
        self.assertLessEqual(float(tf.reduce_max(tf.abs(mixed.real_transform.delta))), 0.006 + 1e-7)


class MirroredEqualityTest(tf.test.TestCase):

    def test_two_replicas_equal_one_device(self):
        if len(tf.config.list_logical_devices("CPU")) < 2:
            self.skipTest("needs 2 logical CPUs (tests/conftest.py)")
        schedule = ExponentialHalving(1e-2, kappa=10)
        one = _make(tf.distribute.get_strategy(), schedule=schedule)
        two = _make(strategies.two_cpu_mirrored(), schedule=schedule)
        self.assertEqual(two.real_transform.delta.shape[0], B // 2)
        _fit(one, steps=2)
        _fit(two, steps=2)
        for a, b in zip(one.generator.variables + one.discriminator.variables,
                        two.generator.variables + two.discriminator.variables):
            self.assertAllClose(a, b, atol=1e-5)
        # Each replica kept its own slice of the global perturbation.
        local = two.distribute_strategy.experimental_local_results(two.real_transform.delta)
        self.assertAllClose(tf.concat([v.read_value() for v in local], 0), one.real_transform.delta,
                            atol=1e-6)


if __name__ == "__main__":
    tf.test.main()
