"""`--profile_steps` on the command line: a profiler trace of exactly the asked iterations."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.support import ROOT
from tests.support.runs import TINY_SYNTHETIC
from tfgan_fast.perf import profiling


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


if __name__ == "__main__":
    tf.test.main()
