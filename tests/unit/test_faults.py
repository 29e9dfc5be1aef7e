"""Run directories that survive faults: unreadable checkpoints, a second run, a full disk,
a changed config on resume, an incompatible checkpoint (tests/integration/test_faults.py: the
one-line errors of the CLI)."""

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys

import tensorflow as tf

from tests.support import ROOT
from tests.support.runs import TINY_IMAGES
from tfgan_fast.run import callbacks
from tfgan_fast.run import config
from tfgan_fast import data as data_lib
from tfgan_fast.runtime import errors
from tfgan_fast.run import experiment
from tfgan_fast.run import rundir

FASTGAN = os.path.join(ROOT, "gin", "fmnist", "fastgan.gin")


def _run(model_dir, steps, extra=(), setup_only=False):
    """The tiny FastGAN of test_resume for `steps` iterations; returns (result, its output)."""
    config.parse([FASTGAN], TINY_IMAGES + [f"run.train_steps = {steps}"] + list(extra))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = experiment.run(model_dir, setup_only=setup_only)
    return result, out.getvalue()


def _steps(model_dir):
    state = tf.train.get_checkpoint_state(os.path.join(model_dir, "checkpoints"))
    return [rundir.checkpoint_step(p) for p in state.all_model_checkpoint_paths] if state else []


class UnreadableCheckpointTest(tf.test.TestCase):

    def test_truncated_newest_is_set_aside_and_the_run_resumes_from_the_one_before(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        _run(model_dir, 3)
        newest = os.path.join(model_dir, "checkpoints", "ckpt-3")
        data_file = tf.io.gfile.glob(newest + ".data-*")[0]
        with open(data_file, "r+b") as f:
            f.truncate(os.path.getsize(data_file) // 2)
        result, log = _run(model_dir, 4)
        self.assertRegex(log, r"WARNING: checkpoint .*ckpt-3 cannot be read \(.*\); moved it "
                              r"to .*checkpoints/unreadable/\d{8}-\d{6}\.ckpt-3\.\* and "
                              r"resuming from an older one\.")
        self.assertIn(f"Resumed from {os.path.join(model_dir, 'checkpoints', 'ckpt-2')} "
                      "(iteration 2 of 4)", log)
        self.assertEqual(result["final_step"], 4)
        aside = os.listdir(os.path.join(model_dir, "checkpoints", "unreadable"))
        self.assertLen([n for n in aside if n.endswith("ckpt-3.index")], 1)  # kept, not deleted
        self.assertEqual(_steps(model_dir), [2, 3, 4])  # ckpt-3 written anew, readable
        self.assertIsNone(rundir.unreadable_reason(newest))


    def test_resume_with_a_relative_model_dir(self):
        # As the README's commands: --model_dir=runs/NAME, relative to the working directory.
        cwd = os.getcwd()
        os.chdir(self.get_temp_dir())
        self.addCleanup(os.chdir, cwd)
        _run(os.path.join("runs", "rel"), 2)
        result, log = _run(os.path.join("runs", "rel"), 3)
        self.assertNotIn("WARNING", log)
        self.assertIn(f"Resumed from {os.path.join('runs', 'rel', 'checkpoints', 'ckpt-2')} "
                      "(iteration 2 of 3)", log)
        self.assertEqual(result["final_step"], 3)
        self.assertEqual(_steps(os.path.join("runs", "rel")), [1, 2, 3])

    def test_when_every_checkpoint_is_unreadable_the_run_starts_afresh(self):
        model_dir = os.path.join(self.get_temp_dir(), "all_bad")
        _run(model_dir, 1, ["run.keep_checkpoints = 1"])
        data_file = tf.io.gfile.glob(os.path.join(model_dir, "checkpoints", "ckpt-1.data-*"))[0]
        with open(data_file, "r+b") as f:
            f.truncate(os.path.getsize(data_file) // 2)
        result, log = _run(model_dir, 2)
        self.assertIn("ckpt-1 cannot be read", log)
        self.assertNotIn("Resumed from", log)
        self.assertEqual(result["final_step"], 2)
        self.assertEqual(_steps(model_dir), [1, 2])


class RunLockTest(tf.test.TestCase):

    def test_a_second_run_on_a_directory_refuses_and_names_the_first(self):
        model_dir = self.get_temp_dir()
        holder = {"host": socket.gethostname(), "pid": 1, "process_start": None,
                  "started": "2026-12-03T10:00:00+00:00", "command": "train --model_dir=x"}
        with open(os.path.join(model_dir, rundir.LOCK_FILE), "w", encoding="utf-8") as f:
            json.dump(holder, f)  # pid 1 is alive
        with self.assertRaisesRegex(
                errors.RunDirectoryLocked,
                rf"in use by another run: pid 1 on host {socket.gethostname()}, started "
                r"2026-12-03T10:00:00\+00:00 \(train --model_dir=x\)"):
            _run(model_dir, 1)
        self.assertEqual(_steps(model_dir), [])
        holder["host"] = "elsewhere"
        with open(os.path.join(model_dir, rundir.LOCK_FILE), "w", encoding="utf-8") as f:
            json.dump(holder, f)
        with self.assertRaisesRegex(errors.RunDirectoryLocked,
                                    r"on host elsewhere.*if that run is dead, delete .*run.lock"):
            rundir.RunLock(model_dir).acquire()

    def test_a_dead_holder_is_taken_over_and_the_lock_released_at_the_end(self):
        model_dir = self.get_temp_dir()
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        with open(os.path.join(model_dir, rundir.LOCK_FILE), "w", encoding="utf-8") as f:
            json.dump({"host": socket.gethostname(), "pid": dead.pid, "started": "earlier"}, f)
        logged = []
        with rundir.RunLock(model_dir, log=logged.append) as lock:
            with open(lock.path, encoding="utf-8") as f:
                self.assertEqual(json.load(f)["pid"], os.getpid())
            with self.assertRaisesRegex(errors.RunDirectoryLocked, "by this process"):
                rundir.RunLock(model_dir).acquire()
        self.assertRegex(logged[0], rf"Taking over .*run.lock from a run that is gone \(pid "
                                    rf"{dead.pid} on host")
        self.assertFalse(os.path.exists(os.path.join(model_dir, rundir.LOCK_FILE)))


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
        _run(probe, 1)
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
            _run(model_dir, 1)  # config, data spec, samples, the first checkpoint
            used = shutil.disk_usage(mount)
            with open(os.path.join(mount, "filler"), "wb") as f:
                f.write(b"\0" * max(0, used.free - int(1.5 * size)))
            with self.assertRaisesRegex(
                    errors.CheckpointWriteError,
                    r"could not write checkpoint ckpt-\d+ in .*checkpoints \(.*\); the newest "
                    r"intact checkpoint is .*ckpt-\d+"):
                _run(model_dir, 6)
            left = os.listdir(os.path.join(model_dir, "checkpoints"))
            self.assertFalse([n for n in left if "_temp" in n], left)
            self.assertIsNone(rundir.unreadable_reason(tf.train.latest_checkpoint(
                os.path.join(model_dir, "checkpoints"))))
            self.assertFalse(os.path.exists(os.path.join(model_dir, rundir.LOCK_FILE)))
        finally:
            subprocess.run(["umount", "-l", mount], check=False)


class ResumeConfigTest(tf.test.TestCase):

    def test_a_changed_constant_learning_rate_is_honoured_and_recorded(self):
        """The NaN advice ("rerun with a lower learning rate") must work: a constant rate is
        an optimiser variable, which a checkpoint used to restore over the config."""
        model_dir = self.get_temp_dir()
        constant = ["make_optimizer.schedule = None"]
        _run(model_dir, 2, constant + ["make_optimizer.learning_rate = 1e-4"])
        _, log = _run(model_dir, 3, constant + ["make_optimizer.learning_rate = 3e-4"])
        self.assertIn("Resuming at iteration 2 with 2 changed binding(s) (the previous config "
                      "is kept as operative_config.2.gin):", log)
        self.assertIn("  make_optimizer.learning_rate: 0.0001 -> 0.0003", log)
        self.assertIn("  run.train_steps: 2 -> 3", log)
        self.assertIn("D learning rate: 0.0001 in the checkpoint, 0.0003 in the config; "
                      "training with 0.0003.", log)
        # 1e6 is used too, so the run diverges (it trained on at 3e-4 before the fix) ...
        with self.assertRaisesRegex(callbacks.NonFiniteLossError,
                                    r"became (nan|inf) at iteration \d+.*lower learning rate"):
            _run(model_dir, 8, constant + ["make_optimizer.learning_rate = 1e6"])
        # ... and the NaN message's advice works: a lower rate from the last good checkpoint.
        result, log = _run(model_dir, 8, constant + ["make_optimizer.learning_rate = 1e-4"])
        self.assertIn("  make_optimizer.learning_rate: 1000000.0 -> 0.0001", log)
        self.assertEqual(result["final_step"], 8)
        exp, _ = _run(model_dir, 8, constant + ["make_optimizer.learning_rate = 1e-4"],
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
        _run(model_dir, 2, ["ExponentialHalving.initial_learning_rate = 1e-4"])
        _, log = _run(model_dir, 3, ["ExponentialHalving.initial_learning_rate = 4e-4"])
        self.assertIn("ExponentialHalving.initial_learning_rate: 0.0001 -> 0.0004", log)
        exp, _ = _run(model_dir, 3, ["ExponentialHalving.initial_learning_rate = 4e-4"],
                      setup_only=True)
        # 3 halvings over TRAIN_STEPS = 10000 iterations: 4e-4 * 0.5^(3 * 3 / 10000).
        self.assertAllClose(exp.trainer.d_optimizer.learning_rate, 4e-4 * 0.5 ** (9 / 1e4))

    def test_another_data_set_or_width_is_refused_unless_allowed(self):
        model_dir = self.get_temp_dir()
        _run(model_dir, 1)
        with self.assertRaisesRegex(
                errors.ConfigChangeError,
                r"holds a run of another configuration.*run\.data: '@QuickstartFashionMNIST\(\)'"
                r" -> '@SyntheticImages\(\)'.*run\.allow_structural_change = True"):
            _run(model_dir, 2, ["run.data = @SyntheticImages()",
                                "SyntheticImages.image_shape = (16, 16, 1)"])
        with self.assertRaisesRegex(errors.ConfigChangeError,
                                    r"ResNetGenerator\.width: 8 -> 16"):
            _run(model_dir, 2, ["ResNetGenerator.width = 16"])
        self.assertEqual(_steps(model_dir), [1])  # nothing trained, nothing overwritten
        # Allowed: the same shapes resume on the other data (fine-tuning) ...
        result, log = _run(model_dir, 2, ["run.data = @SyntheticImages()",
                                          "SyntheticImages.image_shape = (16, 16, 1)",
                                          "run.allow_structural_change = True"])
        self.assertIn("[structural, allowed]", log)
        self.assertEqual(result["final_step"], 2)
        # ... but another width cannot: the error names the first variable that differs.
        with self.assertRaisesRegex(errors.IncompatibleCheckpointError,
                                    r"ckpt-2 does not fit the networks this config builds: .*"
                                    r"shape.*another width, network or algorithm"):
            _run(model_dir, 3, ["ResNetGenerator.width = 16",
                                "run.allow_structural_change = True"])


class OlderCheckpointTest(tf.test.TestCase):

    def test_a_checkpoint_without_every_replicas_delta_is_refused_in_one_line(self):
        """Checkpoints written before exact resume kept replica 0's delta only: the key
        `delta/.ATTRIBUTES/all_replicas` is missing. Rewrite a checkpoint without it."""
        model_dir = self.get_temp_dir()
        _run(model_dir, 1)
        prefix = os.path.join(model_dir, "checkpoints", "ckpt-1")
        reader = tf.train.load_checkpoint(prefix)
        keys = [k for k in reader.get_variable_to_shape_map() if "all_replicas" not in k]
        self.assertLen(keys, len(reader.get_variable_to_shape_map()) - 1)
        tensors = [tf.constant(reader.get_tensor(k)) for k in keys]
        for suffix in (".index", ".data-00000-of-00001"):
            os.remove(prefix + suffix)
        tf.raw_ops.SaveV2(prefix=prefix, tensor_names=keys, shape_and_slices=[""] * len(keys),
                          tensors=tensors)
        with self.assertRaisesRegex(errors.IncompatibleCheckpointError,
                                    r"ckpt-1 was written by an older tfgan_fast.*all_replicas"):
            _run(model_dir, 2)
        self.assertEqual(_steps(model_dir), [1])


class DataErrorNamesTheUsersSourceTest(tf.test.TestCase):

    def test_missing_training_data_is_reported_for_the_training_source(self):
        """The evaluator's copy of the data is built after the training data, so a data set
        that is not there is reported as the one the user configured, not the evaluator's."""
        config.parse([os.path.join(ROOT, "gin", "cifar10/fastgan.gin")], [
            f"TFDSImages.data_dir = '{self.get_temp_dir()}'", "TFDSImages.download = False"])
        with self.assertRaises(data_lib.DataError) as cm:
            experiment.run(os.path.join(self.get_temp_dir(), "run"))
        message = str(cm.exception)
        self.assertIn("TFDS data set 'cifar10' is not prepared", message)
        self.assertNotIn("scope 'eval'", message)


if __name__ == "__main__":
    tf.test.main()
