"""`run.mixed_precision = 'auto'`: bfloat16 exactly where the hardware runs it natively."""

import functools
import os

import keras
import tensorflow as tf

from tests.support import strategies
from tests.support.methods import (INITIAL_SCALE, METHODS, all_weights, fit_steps, max_diff,
                                   method_trainer)
from tfgan_fast.run import experiment
from tfgan_fast.runtime import precision
from tfgan_fast.algorithms import FastGAN
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


# --- float16 with dynamic loss scaling, every method on tiny nets (tests/support/methods.py) ------

class LossScalingTest(tf.test.TestCase):
    """float16 (on CPU, where it is slow but exact to its rounding) against float32."""

    def test_float32_and_bfloat16_have_no_loss_scale(self):
        self.assertIsNone(method_trainer("sngan", "float32").d_loss_scale)
        trainer = method_trainer("sngan", "mixed_bfloat16")
        self.assertIsNone(trainer.g_loss_scale)
        self.assertNotIn("d_loss_scale", trainer.checkpoint_items())

    def test_an_overflow_skips_one_update_and_halves_the_scale(self):
        for name in METHODS:
            with self.subTest(method=name):
                trainer = method_trainer(name, "mixed_float16")
                fit_steps(trainer, 1)
                g_before = [v.numpy() for v in trainer.generator.weights]
                d_before = [v.numpy() for v in trainer.discriminator.weights]
                g_steps = int(trainer.g_optimizer.iterations.numpy())
                trainer.generator.overflow = True
                logs = fit_steps(trainer, 1)
                trainer.generator.overflow = False
                # G's gradient passes G's output: its update is skipped, once.
                self.assertEqual(max_diff([v.numpy() for v in trainer.generator.weights],
                                          g_before), 0.0)
                self.assertEqual(int(trainer.g_optimizer.iterations.numpy()), g_steps)
                self.assertEqual((logs["g_loss_scale"], logs["g_overflows"]),
                                 (INITIAL_SCALE / 2, 1.0))
                # D's too when its gradient reaches through G's output (LOGAN's latent step).
                through = name == "logan"
                d_moved = max_diff([v.numpy() for v in trainer.discriminator.weights],
                                   d_before)
                self.assertEqual(d_moved == 0.0, through)
                self.assertEqual((logs["d_loss_scale"], logs["d_overflows"]),
                                 (INITIAL_SCALE / 2, 1.0) if through else (INITIAL_SCALE, 0.0))
                logs = fit_steps(trainer, 1)  # and the next iteration updates again
                self.assertGreater(max_diff([v.numpy() for v in trainer.generator.weights],
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
            trainer = method_trainer("fastgan", "mixed_float16", run_eagerly=False, strategy=layout)
            fit_steps(trainer, 1)
            trainer.generator.overflow = True
            trainer.make_train_function(force=True)  # traced again with the injection
            trainer.train_function = None
            logs = fit_steps(trainer, 1)
            self.assertEqual((logs["g_loss_scale"], logs["g_overflows"]),
                             (INITIAL_SCALE / 2, 1.0))
            results.append(all_weights(trainer))
        self.assertLess(max_diff(*results), 5e-4)  # float16 rounding, summed in another order


if __name__ == "__main__":
    tf.test.main()
