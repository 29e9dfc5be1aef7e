"""The one-line errors of the training command line and its quiet logs; runs resumed with
changed settings, a full disk and unreadable checkpoints (tests/unit/test_faults.py tests the
run directory's lock and errors without training)."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.support import ROOT
from tests.support.runs import FASTGAN_FMNIST, TINY_IMAGES, checkpoint_steps, run_tiny_fastgan
from tfgan_fast.run import callbacks
from tfgan_fast.run import rundir
from tfgan_fast.runtime import errors


@pytest.mark.slow
class CommandLineErrorTest(tf.test.TestCase):

    def _train(self, model_dir, params, extra_flags=()):
        cmd = [sys.executable, "-m", "tfgan_fast.train", f"--gin_file={FASTGAN_FMNIST}",
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


class ResumeConfigTest(tf.test.TestCase):

    def test_a_changed_constant_learning_rate_is_honoured_and_recorded(self):
        """The NaN advice ("rerun with a lower learning rate") must work: a constant rate is
        an optimiser variable, which a checkpoint used to restore over the config."""
        model_dir = self.get_temp_dir()
        constant = ["make_optimizer.schedule = None"]
        run_tiny_fastgan(model_dir, 2, constant + ["make_optimizer.learning_rate = 1e-4"])
        _, log = run_tiny_fastgan(model_dir, 3, constant + ["make_optimizer.learning_rate = 3e-4"])
        self.assertIn("Resuming at iteration 2 with 2 changed binding(s) (the previous config "
                      "is kept as operative_config.2.gin):", log)
        self.assertIn("  make_optimizer.learning_rate: 0.0001 -> 0.0003", log)
        self.assertIn("  run.train_steps: 2 -> 3", log)
        self.assertIn("D learning rate: 0.0001 in the checkpoint, 0.0003 in the config; "
                      "training with 0.0003.", log)
        # 1e6 is used too, so the run diverges (it trained on at 3e-4 before the fix) ...
        with self.assertRaisesRegex(callbacks.NonFiniteLossError,
                                    r"became (nan|inf) at iteration \d+.*lower learning rate"):
            run_tiny_fastgan(model_dir, 8, constant + ["make_optimizer.learning_rate = 1e6"])
        # ... and the NaN message's advice works: a lower rate from the last good checkpoint.
        result, log = run_tiny_fastgan(model_dir, 8,
                                       constant + ["make_optimizer.learning_rate = 1e-4"])
        self.assertIn("  make_optimizer.learning_rate: 1000000.0 -> 0.0001", log)
        self.assertEqual(result["final_step"], 8)
        exp, _ = run_tiny_fastgan(model_dir, 8, constant + ["make_optimizer.learning_rate = 1e-4"],
                                  setup_only=True)
        self.assertAllClose(exp.trainer.d_optimizer.learning_rate, 1e-4)
        self.assertAllClose(exp.trainer.g_optimizer.learning_rate, 1e-4)
        self.assertTrue(callbacks.weights_are_finite(exp.trainer.variables))
        # What trains is what is recorded; the configs before each change are kept beside it.
        with open(os.path.join(model_dir, "operative_config.gin"), encoding="utf-8") as f:
            self.assertIn("make_optimizer.learning_rate = 0.0001", f.read())
        with open(os.path.join(model_dir, "operative_config.2.gin"), encoding="utf-8") as f:
            self.assertIn("make_optimizer.learning_rate = 0.0001", f.read())
        with open(os.path.join(model_dir, "operative_config.3.gin"), encoding="utf-8") as f:
            self.assertIn("make_optimizer.learning_rate = 1000000.0", f.read())

    def test_a_changed_scheduled_learning_rate_is_honoured(self):
        model_dir = self.get_temp_dir()
        run_tiny_fastgan(model_dir, 2, ["ExponentialHalving.initial_learning_rate = 1e-4"])
        _, log = run_tiny_fastgan(model_dir, 3,
                                  ["ExponentialHalving.initial_learning_rate = 4e-4"])
        self.assertIn("ExponentialHalving.initial_learning_rate: 0.0001 -> 0.0004", log)
        exp, _ = run_tiny_fastgan(model_dir, 3,
                                  ["ExponentialHalving.initial_learning_rate = 4e-4"],
                                  setup_only=True)
        # 3 halvings over TRAIN_STEPS = 10000 iterations: 4e-4 * 0.5^(3 * 3 / 10000).
        self.assertAllClose(exp.trainer.d_optimizer.learning_rate, 4e-4 * 0.5 ** (9 / 1e4))

    def test_another_data_set_or_width_is_refused_unless_allowed(self):
        model_dir = self.get_temp_dir()
        run_tiny_fastgan(model_dir, 1)
        with self.assertRaisesRegex(
                errors.ConfigChangeError,
                r"holds a run of another configuration.*run\.data: '@QuickstartFashionMNIST\(\)'"
                r" -> '@SyntheticImages\(\)'.*run\.allow_structural_change = True"):
            run_tiny_fastgan(model_dir, 2, ["run.data = @SyntheticImages()",
                                            "SyntheticImages.image_shape = (16, 16, 1)"])
        with self.assertRaisesRegex(errors.ConfigChangeError,
                                    r"ResNetGenerator\.width: 8 -> 16"):
            run_tiny_fastgan(model_dir, 2, ["ResNetGenerator.width = 16"])
        self.assertEqual(checkpoint_steps(model_dir), [1])  # nothing trained, nothing overwritten
        # Allowed: the same shapes resume on the other data (fine-tuning) ...
        result, log = run_tiny_fastgan(model_dir, 2, ["run.data = @SyntheticImages()",
                                                      "SyntheticImages.image_shape = (16, 16, 1)",
                                                      "run.allow_structural_change = True"])
        self.assertIn("[structural, allowed]", log)
        self.assertEqual(result["final_step"], 2)
        # ... but another width cannot: the error names the first variable that differs.
        with self.assertRaisesRegex(errors.IncompatibleCheckpointError,
                                    r"ckpt-2 does not fit the networks this config builds: .*"
                                    r"shape.*another width, network or algorithm"):
            run_tiny_fastgan(model_dir, 3, ["ResNetGenerator.width = 16",
                                            "run.allow_structural_change = True"])


class CheckpointWriteTest(tf.test.TestCase):

    def test_failed_save_removes_its_temporary_files_and_names_the_intact_checkpoint(self):
        directory = self.get_temp_dir()

        class FullDisk:  # a manager whose writer fails half way, as TF's does on ENOSPC
            latest_checkpoint = os.path.join(directory, "ckpt-4")

            def __init__(self):
                self.directory = directory

            def save(self, checkpoint_number):
                os.makedirs(os.path.join(directory, f"ckpt-{checkpoint_number}_temp"))
                raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")

        with self.assertRaisesRegex(
                errors.CheckpointWriteError,
                rf"^could not write checkpoint ckpt-6 in {directory} \(No space left on "
                rf"device\); the newest intact checkpoint is {directory}/ckpt-4\. Free space"):
            callbacks.save_checkpoint(FullDisk(), 6)
        self.assertEqual(os.listdir(directory), [])

    def test_a_full_disk_stops_the_run_and_keeps_the_last_checkpoint(self):
        """A real full file system: a small tmpfs (root and mount needed; skipped elsewhere)."""
        probe = os.path.join(self.get_temp_dir(), "probe")
        run_tiny_fastgan(probe, 1)
        size = sum(os.path.getsize(p) for p in tf.io.gfile.glob(
            os.path.join(probe, "checkpoints", "ckpt-1*")))
        mount = os.path.join(self.get_temp_dir(), "small_disk")
        os.makedirs(mount)
        fs_size = 64 * (size // 4096 + 64)  # KiB: room for the run's small files + 2.5 checkpoints
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={fs_size}k", "tmpfs", mount],
                          capture_output=True, check=False).returncode:
            self.skipTest("cannot mount a tmpfs here")
        try:
            model_dir = os.path.join(mount, "run")
            run_tiny_fastgan(model_dir, 1)  # config, data spec, samples, the first checkpoint
            used = shutil.disk_usage(mount)
            with open(os.path.join(mount, "filler"), "wb") as f:
                f.write(b"\0" * max(0, used.free - int(1.5 * size)))
            with self.assertRaisesRegex(
                    errors.CheckpointWriteError,
                    r"could not write checkpoint ckpt-\d+ in .*checkpoints \(.*\); the newest "
                    r"intact checkpoint is .*ckpt-\d+"):
                run_tiny_fastgan(model_dir, 6)
            left = os.listdir(os.path.join(model_dir, "checkpoints"))
            self.assertFalse([n for n in left if "_temp" in n], left)
            self.assertIsNone(rundir.unreadable_reason(tf.train.latest_checkpoint(
                os.path.join(model_dir, "checkpoints"))))
            self.assertFalse(os.path.exists(os.path.join(model_dir, rundir.LOCK_FILE)))
        finally:
            subprocess.run(["umount", "-l", mount], check=False)


class UnreadableCheckpointTest(tf.test.TestCase):

    def test_truncated_newest_is_set_aside_and_the_run_resumes_from_the_one_before(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        run_tiny_fastgan(model_dir, 3)
        newest = os.path.join(model_dir, "checkpoints", "ckpt-3")
        data_file = tf.io.gfile.glob(newest + ".data-*")[0]
        with open(data_file, "r+b") as f:
            f.truncate(os.path.getsize(data_file) // 2)
        result, log = run_tiny_fastgan(model_dir, 4)
        self.assertRegex(log, r"WARNING: checkpoint .*ckpt-3 cannot be read \(.*\); moved it "
                              r"to .*checkpoints/unreadable/\d{8}-\d{6}\.ckpt-3\.\* and "
                              r"resuming from an older one\.")
        self.assertIn(f"Resumed from {os.path.join(model_dir, 'checkpoints', 'ckpt-2')} "
                      "(iteration 2 of 4)", log)
        self.assertEqual(result["final_step"], 4)
        aside = os.listdir(os.path.join(model_dir, "checkpoints", "unreadable"))
        self.assertLen([n for n in aside if n.endswith("ckpt-3.index")], 1)  # kept, not deleted
        self.assertEqual(checkpoint_steps(model_dir), [2, 3, 4])  # ckpt-3 written anew, readable
        self.assertIsNone(rundir.unreadable_reason(newest))

    def test_resume_with_a_relative_model_dir(self):
        # As the README's commands: --model_dir=runs/NAME, relative to the working directory.
        cwd = os.getcwd()
        os.chdir(self.get_temp_dir())
        self.addCleanup(os.chdir, cwd)
        run_tiny_fastgan(os.path.join("runs", "rel"), 2)
        result, log = run_tiny_fastgan(os.path.join("runs", "rel"), 3)
        self.assertNotIn("WARNING", log)
        self.assertIn(f"Resumed from {os.path.join('runs', 'rel', 'checkpoints', 'ckpt-2')} "
                      "(iteration 2 of 3)", log)
        self.assertEqual(result["final_step"], 3)
        self.assertEqual(checkpoint_steps(os.path.join("runs", "rel")), [1, 2, 3])

    def test_when_every_checkpoint_is_unreadable_the_run_starts_afresh(self):
        model_dir = os.path.join(self.get_temp_dir(), "all_bad")
        run_tiny_fastgan(model_dir, 1, ["run.keep_checkpoints = 1"])
        data_file = tf.io.gfile.glob(os.path.join(model_dir, "checkpoints", "ckpt-1.data-*"))[0]
        with open(data_file, "r+b") as f:
            f.truncate(os.path.getsize(data_file) // 2)
        result, log = run_tiny_fastgan(model_dir, 2)
        self.assertIn("ckpt-1 cannot be read", log)
        self.assertNotIn("Resumed from", log)
        self.assertEqual(result["final_step"], 2)
        self.assertEqual(checkpoint_steps(model_dir), [1, 2])


if __name__ == "__main__":
    tf.test.main()
