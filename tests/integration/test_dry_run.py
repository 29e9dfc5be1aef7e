"""`python -m tfgan_fast.train --dry_run`: the whole config printed, the report, nothing written."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.support import ROOT


class DryRunCommandLineTest(tf.test.TestCase):

    @pytest.mark.slow
    def test_command_line(self):
        model_dir = os.path.join(self.get_temp_dir(), "cli")
        out = subprocess.run(
            [sys.executable, "-m", "tfgan_fast.train", "--gin_file=gin/quickstart.gin",
             f"--model_dir={model_dir}", "--dry_run", "--dry_run_steps=1", "--print_config",
             "--gin_param=ResNetGenerator.width = 8", "--gin_param=ResNetDiscriminator.width = 8"],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"),
            capture_output=True, text=True, timeout=600)
        self.assertEqual(out.returncode, 0, out.stderr[-3000:])
        self.assertIn("run.algorithm = @FastGAN", out.stdout)  # the whole config
        self.assertIn("1,200 iterations to go", out.stdout)
        self.assertFalse(os.path.exists(model_dir))


if __name__ == "__main__":
    tf.test.main()
