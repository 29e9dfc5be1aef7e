"""`--profile_steps` and `run.profile_steps`: a profiler trace of exactly the asked iterations
(the flag's checks: tests/unit/test_profiling.py)."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.support import ROOT
from tests.support.runs import TINY_SYNTHETIC
from tfgan_fast.perf import profiling
from tfgan_fast.run import config
from tfgan_fast.run import experiment


@pytest.mark.slow
class ProfileStepsFlagTest(tf.test.TestCase):

    def test_command_line(self):
        # One iteration per execution: Keras' own training function, once per iteration.
        model_dir = self.get_temp_dir()
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                   PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
        subprocess.run([sys.executable, "-m", "tfgan_fast.train",
                        "--gin_file=gin/fastgan_cifar.gin", f"--model_dir={model_dir}",
                        "--profile_steps=2,3"]
                       + [f"--gin_param={p}" for p in TINY_SYNTHETIC + ["run.train_steps = 4"]],
                       check=True, cwd=ROOT, env=env, capture_output=True, timeout=600)
        space = profiling.read_trace(
            profiling.trace_files(os.path.join(model_dir, "train"))[0])
        self.assertEqual(profiling.trace_steps(space), [(2, 1), (3, 1)])
        self.assertEqual(profiling.event_counts(space, ["multi_step_on_iterator"]),
                         {"multi_step_on_iterator": 2})


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


if __name__ == "__main__":
    tf.test.main()
