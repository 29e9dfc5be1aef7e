"""`run.profile_steps` / `--profile_steps`: a profiler trace of exactly the asked iterations."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tfgan_fast.run import config
from tfgan_fast.run import experiment
from tfgan_fast.perf import profiling

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TINY = ["ResNetGenerator.width = 8", "ResNetDiscriminator.width = 8", "run.z_dim = 8",
        "run.batch_size = 2", "run.evaluator = None", "run.mixed_precision = None",
        "run.data = @SyntheticImages()", "SyntheticImages.image_shape = (32, 32, 3)",
        "SyntheticImages.num_classes = 10", "run.summary_every = 0",
        "run.checkpoint_every = 0", "run.export_at_end = False", "run.progress = False"]


class ProfileStepsTest(tf.test.TestCase):

    def test_trace_holds_the_iterations(self):
        # 4 iterations per execution asked; iterations 3..6 need executions ending at 2 and 6,
        # so the run lowers it to 2: two executions, starting at iterations 3 and 5.
        model_dir = self.get_temp_dir()
        config.parse(["gin/fastgan_cifar.gin"], TINY + [
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
                       + [f"--gin_param={p}" for p in TINY + ["run.train_steps = 4"]],
                       check=True, cwd=ROOT, env=env, capture_output=True, timeout=600)
        space = profiling.read_trace(
            profiling.trace_files(os.path.join(model_dir, "train"))[0])
        self.assertEqual(profiling.trace_steps(space), [(2, 1), (3, 1)])
        self.assertEqual(profiling.event_counts(space, ["multi_step_on_iterator"]),
                         {"multi_step_on_iterator": 2})
