"""`run.profile_steps`: a profiler trace of exactly the asked iterations."""

import os

import tensorflow as tf

from tests.support.runs import TINY_SYNTHETIC
from tfgan_fast.run import config
from tfgan_fast.run import experiment
from tfgan_fast.perf import profiling


class ProfileStepsTest(tf.test.TestCase):

    def test_trace_holds_the_iterations(self):
        # 4 iterations per execution asked; iterations 3..6 need executions ending at 2 and 6,
        # so the run lowers it to 2: two executions, starting at iterations 3 and 5.
        model_dir = self.get_temp_dir()
        config.parse(["gin/fastgan_cifar.gin"], TINY_SYNTHETIC + [
            "run.train_steps = 8", "run.steps_per_execution = 4", "run.profile_steps = (3, 6)"])
        experiment.run(model_dir)
        traces = profiling.trace_files(os.path.join(model_dir, "train"))
        self.assertLen(traces, 1)
        space = profiling.read_trace(traces[0])
        self.assertEqual(profiling.trace_steps(space), [(3, 2), (5, 2)])
        # The trainer's multi-iteration function ran exactly twice inside the trace.
        self.assertEqual(profiling.event_counts(space, ["multi_step"]), {"multi_step": 2})

    def test_bad_values(self):
        self.assertEqual(profiling.check_profile_steps("2,4", 10), (2, 4))
        self.assertIsNone(profiling.check_profile_steps(None, 10))
        for bad in ("3", (5, 2), (0, 2), (1, 11), "a,b"):
            with self.assertRaisesRegex(ValueError, "run.profile_steps = .* must"):
                profiling.check_profile_steps(bad, 10)


