"""`--dry_run`: the report of a run that is built and timed, and nothing written."""

import os

import tensorflow as tf

from tests.support import ROOT
from tests.support.runs import CONFIGS
from tfgan_fast.run import config
from tfgan_fast.run import experiment


def _parse(steps=6):
    gin_file, params = CONFIGS["fastgan"]
    config.parse([os.path.join(ROOT, gin_file)], params + [f"run.train_steps = {steps}"])


class DryRunTest(tf.test.TestCase):

    def test_report_and_nothing_written(self):
        model_dir = os.path.join(self.get_temp_dir(), "never")
        _parse()
        lines = []
        result = experiment.dry_run(model_dir, steps=2, log=lines.append)
        self.assertFalse(os.path.exists(model_dir))
        text = "\n".join(lines)
        # The parameter counts are the networks' own.
        exp = experiment.run(os.path.join(self.get_temp_dir(), "other"), setup_only=True)
        want_g = sum(int(tf.size(v)) for v in exp.trainer.generator.trainable_variables)
        want_d = sum(int(tf.size(v)) for v in exp.trainer.discriminator.trainable_variables)
        self.assertEqual((result["params_g"], result["params_d"]), (want_g, want_d))
        self.assertIn(f"Networks: G ResNetGenerator {want_g:,} parameters, D "
                      f"ResNetDiscriminator {want_d:,} parameters; FastGAN.", text)
        self.assertIn("Strategy: default strategy (one device), 1 worker(s) x 1 replica(s), "
                      "global batch 4 (4 per replica).", text)
        self.assertIn("Numeric policy: ", text)
        self.assertIn("Data: quickstart_fashion_mnist, 10 classes, examples of shape "
                      "(16, 16, 1), 5,000 examples.", text)
        self.assertRegex(text, r"then [\d.]+ s/it over 2; 6 iterations to go \(from 0 to 6\)")
        self.assertAllClose(result["estimated_seconds"], 6 * result["seconds_per_iteration"])
        self.assertIn(f"Dry run: nothing was written to {model_dir}.", text)

    def test_an_existing_run_is_read_not_written(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        _parse(steps=2)
        experiment.run(model_dir)
        before = {f: os.stat(os.path.join(d, f)).st_mtime_ns
                  for d, _, files in os.walk(model_dir) for f in files}
        _parse(steps=6)
        lines = []
        experiment.dry_run(model_dir, steps=1, log=lines.append)
        after = {f: os.stat(os.path.join(d, f)).st_mtime_ns
                 for d, _, files in os.walk(model_dir) for f in files}
        self.assertEqual(before, after)
        self.assertIn("4 iterations to go (from 2 to 6)", "\n".join(lines))

    def test_bad_steps(self):
        with self.assertRaisesRegex(ValueError, "--dry_run_steps must be a positive integer"):
            experiment.dry_run("/tmp/unused", steps=0)


if __name__ == "__main__":
    tf.test.main()
