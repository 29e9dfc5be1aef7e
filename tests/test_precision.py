"""`run.mixed_precision = 'auto'`: bfloat16 exactly where the hardware runs it natively."""

import functools
import os

import keras
import tensorflow as tf

from tfgan_fast import experiment
from tfgan_fast import precision
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
        self.assertEqual(policy, "float32")  # one older GPU decides: all replicas compute alike
        self.assertIn("7.5 < 8.0", reason)

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


if __name__ == "__main__":
    tf.test.main()
