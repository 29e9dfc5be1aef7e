"""`run.mixed_precision = 'auto'`: bfloat16 exactly where the hardware runs it natively."""

import functools
import os

import keras
import numpy as np
import tensorflow as tf

from tests import strategies
from tests.tiny_nets import TinyDiscriminator, TinyGenerator
from tfgan_fast.run import experiment
from tfgan_fast.runtime import precision
from tfgan_fast.algorithms import FARGAN, LOGAN, R3GAN, FastGAN, RobGAN, StandardGAN
from tfgan_fast.data.synthetic import SyntheticImages
from tfgan_fast.nets import ResNetDiscriminator, ResNetGenerator


class ResolveTest(tf.test.TestCase):

    def test_auto_on_gpus(self):
        self.assertEqual(precision.resolve("auto", gpu_caps=[(8, 0)], cpu_flags=[])[0],
                         "mixed_bfloat16")
        self.assertEqual(precision.resolve("auto", gpu_caps=[(9, 0), (8, 6)])[0],
                         "mixed_bfloat16")
        policy, reason = precision.resolve("auto", gpu_caps=[(8, 0), (7, 5)],
                                           cpu_flags=["avx512_bf16"])
        # One older GPU decides: all replicas compute alike.
        self.assertEqual(policy, "mixed_float16")
        self.assertEqual(reason, "mixed_float16 with dynamic loss scaling (auto: GPU compute "
                                 "capability 7.5 < 8.0 has float16 tensor cores but no fast "
                                 "bfloat16)")
        self.assertEqual(precision.resolve("auto", gpu_caps=[(7, 0)])[0], "mixed_float16")
        policy, reason = precision.resolve("auto", gpu_caps=[(7, 0), (6, 1)])
        self.assertEqual(policy, "float32")
        self.assertIn("6.1 < 7.0 has no tensor cores", reason)

    def test_auto_on_cpus(self):
        policy, reason = precision.resolve("auto", gpu_caps=[], cpu_flags=["avx512_bf16"])
        self.assertEqual(policy, "mixed_bfloat16")
        self.assertIn("avx512_bf16", reason)
        self.assertEqual(precision.resolve("auto", gpu_caps=[], cpu_flags=["amx_bf16"])[0],
                         "mixed_bfloat16")
        policy, reason = precision.resolve("auto", gpu_caps=[], cpu_flags=[])
        self.assertEqual(policy, "float32")
        self.assertIn("no native bfloat16", reason)

    def test_explicit_policies_are_kept_and_unknown_ones_named(self):
        self.assertEqual(precision.resolve(None)[0], "float32")
        self.assertEqual(precision.resolve("float32", gpu_caps=[(9, 0)])[0], "float32")
        self.assertEqual(precision.resolve("mixed_bfloat16", gpu_caps=[], cpu_flags=[])[0],
                         "mixed_bfloat16")
        with self.assertRaisesRegex(ValueError, r"run.mixed_precision = 'bf16'"):
            precision.resolve("bf16")

    def test_cpu_flags_are_read_from_cpuinfo(self):
        path = os.path.join(self.get_temp_dir(), "cpuinfo")
        with open(path, "w", encoding="utf-8") as f:
            f.write("processor\t: 0\nflags\t\t: fpu sse avx512f amx_bf16 avx512_bf16 amx_tile\n")
        self.assertEqual(precision.cpu_bf16_flags(path), ["avx512_bf16", "amx_bf16"])
        with open(path, "w", encoding="utf-8") as f:
            f.write("processor\t: 0\nflags\t\t: fpu sse avx2\n")
        self.assertEqual(precision.cpu_bf16_flags(path), [])
        self.assertEqual(precision.cpu_bf16_flags(path + ".missing"), [])


class PolicyScopeTest(tf.test.TestCase):

    def test_scope_sets_and_restores_the_global_policy(self):
        self.assertEqual(keras.mixed_precision.global_policy().name, "float32")
        with self.assertRaisesRegex(RuntimeError, "inside"):
            with precision.global_policy("mixed_bfloat16"):
                self.assertEqual(keras.mixed_precision.global_policy().name, "mixed_bfloat16")
                raise RuntimeError("inside")
        self.assertEqual(keras.mixed_precision.global_policy().name, "float32")

    def test_a_run_keeps_its_policy_to_its_networks(self):
        """The networks of a bfloat16 run compute in bfloat16; the process's policy is float32
        again afterwards, so a later run or test does not silently inherit bfloat16."""
        exp = experiment.run(
            self.get_temp_dir(), algorithm=FastGAN,
            generator=functools.partial(ResNetGenerator, width=8),
            discriminator=functools.partial(ResNetDiscriminator, width=8, head="ac"),
            data=SyntheticImages((32, 32, 1), 10, pool_size=8), train_steps=1, batch_size=4,
            z_dim=8, mixed_precision="mixed_bfloat16", setup_only=True)
        self.assertEqual(exp.trainer.generator.dtype_policy.name, "mixed_bfloat16")
        self.assertEqual(exp.trainer.discriminator.dtype_policy.name, "mixed_bfloat16")
        self.assertEqual(keras.mixed_precision.global_policy().name, "float32")
        images = exp.trainer.generate(tf.zeros([2, 8]), tf.constant([0, 1]))
        self.assertEqual(images.shape, (2, 32, 32, 1))


# --- float16 with dynamic loss scaling, every method on tiny nets ---------------------------------

B = 8
C = 3
INITIAL_SCALE = 2.0 ** 10
# Each method's gradients: D and G; FastGAN the input gradient of its perturbation; RobGAN its
# PGD gradient; FARGAN a gradient penalty; LOGAN the latent gradient and its second-order path;
# R3GAN the R1 and R2 penalties.
METHODS = {
    "sngan": (StandardGAN, {"n_disc": 2}),
    "fastgan": (FastGAN, {}),
    "robgan": (RobGAN, {"pgd_steps": 2}),
    "fargan": (FARGAN, {"num_far": 2, "far_factor": 2, "num_fake": 4}),
    "logan": (LOGAN, {}),
    "r3gan": (R3GAN, {}),
}


@tf.custom_gradient
def _inf_in_backward(x):
    """The identity, whose backward pass overflows float16 (1e5 > 65504)."""
    return tf.identity(x), lambda dy: dy * tf.cast(1e5, dy.dtype)


class OverflowingGenerator(TinyGenerator):
    """`TinyGenerator` whose float16 output gradient overflows while `overflow` is set; its
    images are float32, as the library's generators' are."""

    overflow = False

    def call(self, z, labels=None, training=None):
        images = super().call(z, labels, training)
        return tf.cast(_inf_in_backward(images) if self.overflow else images, tf.float32)


class Float32Discriminator(TinyDiscriminator):
    """`TinyDiscriminator` with float32 outputs, as the library's discriminators have."""

    def call(self, images, labels=None, training=None):
        return {k: tf.cast(v, tf.float32)
                for k, v in super().call(images, labels, training).items()}


def _trainer(name, policy, jit_compile=False, run_eagerly=True, strategy=None):
    cls, kwargs = METHODS[name]
    classes = 0 if name == "fargan" else C
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(0)
    with precision.global_policy(policy), strategy.scope():
        trainer = cls(OverflowingGenerator(z_dim=4, num_classes=classes),
                      Float32Discriminator(classes), z_dim=4, num_classes=classes, seed=3,
                      **kwargs)
        trainer.compile(g_optimizer=keras.optimizers.SGD(0.1),
                        d_optimizer=keras.optimizers.SGD(0.1), jit_compile=jit_compile,
                        run_eagerly=run_eagerly)
        trainer.build_all(B // strategy.num_replicas_in_sync, (4, 4, 1))
        strategy.run(trainer.initialize_state)
    for scale in (trainer.d_loss_scale, trainer.g_loss_scale):
        if scale is not None:
            # Below 2^15, the default: FARGAN's penalty gradients (~14 on these nets) overflow
            # float16 at scales above ~4,000, and the dynamic scale would skip its first steps.
            scale.scale.assign(INITIAL_SCALE)
    return trainer


def _fit(trainer, steps):
    rng = np.random.RandomState(0)
    n = B * trainer.real_batches_per_iteration
    data = (rng.uniform(-1, 1, (n, 4, 4, 1)).astype("float32"),
            rng.randint(0, C, n).astype("int32"))
    history = trainer.fit(tf.data.Dataset.from_tensors(data).repeat(), epochs=1,
                          steps_per_epoch=steps, verbose=0, shuffle=False)
    return {k: v[-1] for k, v in history.history.items()}


def _weights(trainer):
    return [v.numpy() for v in trainer.generator.weights + trainer.discriminator.weights]


def _max_diff(a, b):
    return max(float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64))))
               for x, y in zip(a, b))


class LossScalingTest(tf.test.TestCase):
    """float16 (on CPU, where it is slow but exact to its rounding) against float32."""

    def test_float32_and_bfloat16_have_no_loss_scale(self):
        self.assertIsNone(_trainer("sngan", "float32").d_loss_scale)
        trainer = _trainer("sngan", "mixed_bfloat16")
        self.assertIsNone(trainer.g_loss_scale)
        self.assertNotIn("d_loss_scale", trainer.checkpoint_items())

    def test_float16_stays_within_its_rounding_of_float32(self):
        for name in METHODS:
            with self.subTest(method=name):
                ref, half = _trainer(name, "float32"), _trainer(name, "mixed_float16")
                self.assertEqual(half.discriminator.compute_dtype, "float16")
                for net, src in ((half.generator, ref.generator),
                                 (half.discriminator, ref.discriminator)):
                    net.set_weights(src.get_weights())
                start = _weights(ref)
                _fit(ref, 3)
                logs = _fit(half, 3)
                update = _max_diff(_weights(ref), start)
                diff = _max_diff(_weights(half), _weights(ref))
                print(f"{name}: float16 (loss-scaled) vs float32 after 3 iterations: "
                      f"max |diff| {diff:.2e}, largest update {update:.2e}")
                self.assertEqual((logs["d_overflows"], logs["g_overflows"]), (0.0, 0.0))
                self.assertEqual(logs["d_loss_scale"], INITIAL_SCALE)
                # float16 keeps ~3 significant digits: the updates agree to a few 1e-3.
                self.assertLess(diff, 0.02 * update)

    def test_an_overflow_skips_one_update_and_halves_the_scale(self):
        for name in METHODS:
            with self.subTest(method=name):
                trainer = _trainer(name, "mixed_float16")
                _fit(trainer, 1)
                g_before = [v.numpy() for v in trainer.generator.weights]
                d_before = [v.numpy() for v in trainer.discriminator.weights]
                g_steps = int(trainer.g_optimizer.iterations.numpy())
                trainer.generator.overflow = True
                logs = _fit(trainer, 1)
                trainer.generator.overflow = False
                # G's gradient passes G's output: its update is skipped, once.
                self.assertEqual(_max_diff([v.numpy() for v in trainer.generator.weights],
                                           g_before), 0.0)
                self.assertEqual(int(trainer.g_optimizer.iterations.numpy()), g_steps)
                self.assertEqual((logs["g_loss_scale"], logs["g_overflows"]),
                                 (INITIAL_SCALE / 2, 1.0))
                # D's too when its gradient reaches through G's output (LOGAN's latent step).
                through = name == "logan"
                d_moved = _max_diff([v.numpy() for v in trainer.discriminator.weights],
                                    d_before)
                self.assertEqual(d_moved == 0.0, through)
                self.assertEqual((logs["d_loss_scale"], logs["d_overflows"]),
                                 (INITIAL_SCALE / 2, 1.0) if through else (INITIAL_SCALE, 0.0))
                logs = _fit(trainer, 1)  # and the next iteration updates again
                self.assertGreater(_max_diff([v.numpy() for v in trainer.generator.weights],
                                             g_before), 0.0)
                self.assertEqual((logs["g_loss_scale"], logs["g_overflows"]),
                                 (INITIAL_SCALE / 2, 1.0))

    def test_two_replicas_skip_together(self):
        """The overflow of one replica skips the update on both (the finiteness is
        all-reduced), and 2 replicas equal 1 device."""
        strategy = strategies.two_cpu_mirrored()
        if strategy is None:
            self.skipTest("needs two logical CPUs")
        results = []
        for layout in (None, strategy):
            trainer = _trainer("fastgan", "mixed_float16", run_eagerly=False, strategy=layout)
            _fit(trainer, 1)
            trainer.generator.overflow = True
            trainer.make_train_function(force=True)  # traced again with the injection
            trainer.train_function = None
            logs = _fit(trainer, 1)
            self.assertEqual((logs["g_loss_scale"], logs["g_overflows"]),
                             (INITIAL_SCALE / 2, 1.0))
            results.append(_weights(trainer))
        self.assertLess(_max_diff(*results), 5e-4)  # float16 rounding, summed in another order

    def test_resume_continues_bit_identically(self):
        for name in METHODS:
            with self.subTest(method=name):
                trainer = _trainer(name, "mixed_float16")
                for scale in (trainer.d_loss_scale, trainer.g_loss_scale):
                    scale.growth_steps = 2  # the scale also grows within the run
                trainer.generator.overflow = True
                _fit(trainer, 1)
                trainer.generator.overflow = False
                _fit(trainer, 1)
                path = tf.train.Checkpoint(**trainer.checkpoint_items()).write(
                    os.path.join(self.get_temp_dir(), name, "ckpt"))
                _fit(trainer, 3)
                resumed = _trainer(name, "mixed_float16")
                for scale in (resumed.d_loss_scale, resumed.g_loss_scale):
                    scale.growth_steps = 2
                tf.train.Checkpoint(**resumed.checkpoint_items()).read(
                    path).assert_existing_objects_matched()
                self.assertEqual(float(resumed.g_loss_scale.scale.numpy()), INITIAL_SCALE / 2)
                _fit(resumed, 3)
                # Halved by the overflow, then grown twice (every 2 finite updates).
                self.assertEqual(float(trainer.g_loss_scale.scale.numpy()), INITIAL_SCALE * 2)
                want = [v.numpy() for v in trainer.variables + trainer.state_variables()]
                got = [v.numpy() for v in resumed.variables + resumed.state_variables()]
                self.assertEqual(len(want), len(got))
                self.assertEqual(_max_diff(want, got), 0.0)
                for a, b in ((trainer.d_loss_scale, resumed.d_loss_scale),
                             (trainer.g_loss_scale, resumed.g_loss_scale)):
                    self.assertEqual([int(a.good_steps.numpy()), int(a.overflows.numpy())],
                                     [int(b.good_steps.numpy()), int(b.overflows.numpy())])


if __name__ == "__main__":
    tf.test.main()
