"""The one-line errors of the training command line, and its quiet logs
(tests/unit/test_faults.py tests the run directory's faults in process)."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.support import ROOT
from tests.support.runs import TINY_IMAGES
from tfgan_fast.run import rundir

FASTGAN = os.path.join(ROOT, "gin", "fmnist", "fastgan.gin")


@pytest.mark.slow
class CommandLineErrorTest(tf.test.TestCase):

    def _train(self, model_dir, params, extra_flags=()):
        cmd = [sys.executable, "-m", "tfgan_fast.train", f"--gin_file={FASTGAN}",
               f"--model_dir={model_dir}"] + [f"--gin_param={p}" for p in params]
        env = dict(os.environ, PYTHONPATH=ROOT)
        env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the user's default: quiet logs
        return subprocess.run(cmd + list(extra_flags), cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300, check=False)

    def test_errors_on_purpose_are_one_line_and_traceback_on_request(self):
        model_dir = self.get_temp_dir()
        os.makedirs(model_dir, exist_ok=True)
        with open(os.path.join(model_dir, rundir.LOCK_FILE), "w", encoding="utf-8") as f:
            json.dump({"host": socket.gethostname(), "pid": 1, "started": "now"}, f)
        out = self._train(model_dir, TINY_IMAGES)
        self.assertEqual(out.returncode, 1, out.stderr[-2000:])
        lines = [line for line in out.stderr.splitlines() if "RunDirectoryLocked" in line]
        self.assertLen(lines, 1, out.stderr[-2000:])
        self.assertRegex(lines[0], r"^RunDirectoryLocked: .* is in use by another run: pid 1 "
                                   r".*\(--traceback shows where\)$")
        self.assertNotIn("Traceback (most recent call last)", out.stderr)
        os.remove(os.path.join(model_dir, rundir.LOCK_FILE))
        # A whole run says what it does and nothing else: no TensorFlow banner, no C++ or absl
        # log lines (the saver's, the export's).
        out = self._train(model_dir, TINY_IMAGES + ["run.train_steps = 2",
                                                    "run.export_at_end = True"])
        self.assertEqual(out.returncode, 0, out.stderr[-2000:])
        log = out.stdout + out.stderr
        noise = [line for line in log.splitlines()
                 if re.match(r"^[IWEF]\d{4} |^WARNING: All log messages|.*oneDNN|.*cuda", line)]
        self.assertEqual(noise, [])
        self.assertIn("Numeric policy:", log)
        self.assertIn("Exporting the generator to", log)
        out = self._train(model_dir, TINY_IMAGES + ["run.train_steps = -1"], ["--traceback"])
        self.assertEqual(out.returncode, 1)
        self.assertIn("Traceback (most recent call last)", out.stderr)
        self.assertIn("run.train_steps = -1 must be an integer > 0", out.stderr)


if __name__ == "__main__":
    tf.test.main()
