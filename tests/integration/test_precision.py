"""float16 with dynamic loss scaling on every method: within float16's rounding of float32 over
three iterations, and a resumed run continues bit-identically with its loss scales (the
overflow and skip logic: tests/unit/test_precision.py)."""

import os

import tensorflow as tf

from tests.support.methods import (INITIAL_SCALE, METHODS, all_weights, fit_steps, max_diff,
                                   method_trainer)


class LossScalingTest(tf.test.TestCase):

    def test_float16_stays_within_its_rounding_of_float32(self):
        for name in METHODS:
            with self.subTest(method=name):
                ref, half = method_trainer(name, "float32"), method_trainer(name, "mixed_float16")
                self.assertEqual(half.discriminator.compute_dtype, "float16")
                for net, src in ((half.generator, ref.generator),
                                 (half.discriminator, ref.discriminator)):
                    net.set_weights(src.get_weights())
                start = all_weights(ref)
                fit_steps(ref, 3)
                logs = fit_steps(half, 3)
                update = max_diff(all_weights(ref), start)
                diff = max_diff(all_weights(half), all_weights(ref))
                print(f"{name}: float16 (loss-scaled) vs float32 after 3 iterations: "
                      f"max |diff| {diff:.2e}, largest update {update:.2e}")
                self.assertEqual((logs["d_overflows"], logs["g_overflows"]), (0.0, 0.0))
                self.assertEqual(logs["d_loss_scale"], INITIAL_SCALE)
                # float16 keeps ~3 significant digits: the updates agree to a few 1e-3.
                self.assertLess(diff, 0.02 * update)

    def test_resume_continues_bit_identically(self):
        for name in METHODS:
            with self.subTest(method=name):
                trainer = method_trainer(name, "mixed_float16")
                for scale in (trainer.d_loss_scale, trainer.g_loss_scale):
                    scale.growth_steps = 2  # the scale also grows within the run
                trainer.generator.overflow = True
                fit_steps(trainer, 1)
                trainer.generator.overflow = False
                fit_steps(trainer, 1)
                path = tf.train.Checkpoint(**trainer.checkpoint_items()).write(
                    os.path.join(self.get_temp_dir(), name, "ckpt"))
                fit_steps(trainer, 3)
                resumed = method_trainer(name, "mixed_float16")
                for scale in (resumed.d_loss_scale, resumed.g_loss_scale):
                    scale.growth_steps = 2
                tf.train.Checkpoint(**resumed.checkpoint_items()).read(
                    path).assert_existing_objects_matched()
                self.assertEqual(float(resumed.g_loss_scale.scale.numpy()), INITIAL_SCALE / 2)
                fit_steps(resumed, 3)
                # Halved by the overflow, then grown twice (every 2 finite updates).
                self.assertEqual(float(trainer.g_loss_scale.scale.numpy()), INITIAL_SCALE * 2)
                want = [v.numpy() for v in trainer.variables + trainer.state_variables()]
                got = [v.numpy() for v in resumed.variables + resumed.state_variables()]
                self.assertEqual(len(want), len(got))
                self.assertEqual(max_diff(want, got), 0.0)
                for a, b in ((trainer.d_loss_scale, resumed.d_loss_scale),
                             (trainer.g_loss_scale, resumed.g_loss_scale)):
                    self.assertEqual([int(a.good_steps.numpy()), int(a.overflows.numpy())],
                                     [int(b.good_steps.numpy()), int(b.overflows.numpy())])


if __name__ == "__main__":
    tf.test.main()
