"""Resume on another layout: a run saved on one device resumes on two replicas with its state
resliced, and another global batch is refused (tests/integration/test_resume.py: exact resume of
every algorithm)."""

import os

import tensorflow as tf

from tests.support import ROOT, strategies
from tests.support.runs import CONFIGS, checkpoint_tensors, run_config
from tfgan_fast.run import config
from tfgan_fast.runtime import errors
from tfgan_fast.run import experiment


class ReplicaCountChangeTest(tf.test.TestCase):

    def test_a_run_saved_on_one_device_resumes_on_two_replicas_with_its_state_resliced(self):
        strategy = strategies.two_cpu_mirrored()
        if strategy is None:
            self.skipTest("needs two logical CPUs")
        model_dir = os.path.join(self.get_temp_dir(), "run")
        saved = checkpoint_tensors(run_config("fastgan", model_dir, 3, None))
        config.parse([os.path.join(ROOT, CONFIGS["fastgan"][0])], CONFIGS["fastgan"][1])
        exp = experiment.run(model_dir, strategy_fn=lambda: strategy, setup_only=True)
        self.assertEqual(exp.start_step, 3)
        rows = strategy.experimental_local_results(exp.trainer.real_transform.delta)
        self.assertLen(rows, 2)
        self.assertAllEqual(tf.concat(rows, 0), saved["delta/.ATTRIBUTES/all_replicas"])
        # ... and trains on from there: the stream and the random draws are global.
        final = run_config("fastgan", model_dir, 4, lambda: strategy)
        self.assertTrue(final.endswith("ckpt-4"))

    def test_another_global_batch_is_refused(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        run_config("fastgan", model_dir, 1, None)
        config.parse([os.path.join(ROOT, CONFIGS["fastgan"][0])], CONFIGS["fastgan"][1] + [
            "run.batch_size = 8", "run.allow_structural_change = True"])
        with self.assertRaisesRegex(errors.IncompatibleCheckpointError,
                                    r"delta has shape \[4, 16, 16, 1\] \(its global batch\), "
                                    r"this run's is \[8, 16, 16, 1\].*run.batch_size"):
            experiment.run(model_dir)


if __name__ == "__main__":
    tf.test.main()
