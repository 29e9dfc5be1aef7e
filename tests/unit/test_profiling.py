"""`run.profile_steps`: its checks (the traces themselves: tests/integration/test_profiling.py)."""

import tensorflow as tf

from tfgan_fast.perf import profiling


class ProfileStepsTest(tf.test.TestCase):

    def test_bad_values(self):
        self.assertEqual(profiling.check_profile_steps("2,4", 10), (2, 4))
        self.assertIsNone(profiling.check_profile_steps(None, 10))
        for bad in ("3", (5, 2), (0, 2), (1, 11), "a,b"):
            with self.assertRaisesRegex(ValueError, "run.profile_steps = .* must"):
                profiling.check_profile_steps(bad, 10)


