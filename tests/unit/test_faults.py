"""Run directories that survive faults: unreadable checkpoints, a second run, a full disk,
a changed config on resume, an incompatible checkpoint (tests/integration/test_faults.py: the
one-line errors of the CLI)."""

import json
import os
import socket
import subprocess
import sys

import tensorflow as tf

from tests.support import ROOT
from tests.support.runs import checkpoint_steps, run_tiny_fastgan
from tfgan_fast.run import config
from tfgan_fast import data as data_lib
from tfgan_fast.runtime import errors
from tfgan_fast.run import experiment
from tfgan_fast.run import rundir


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
            run_tiny_fastgan(model_dir, 1)
        self.assertEqual(checkpoint_steps(model_dir), [])
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


class OlderCheckpointTest(tf.test.TestCase):

    def test_a_checkpoint_without_every_replicas_delta_is_refused_in_one_line(self):
        """Checkpoints written before exact resume kept replica 0's delta only: the key
        `delta/.ATTRIBUTES/all_replicas` is missing. Rewrite a checkpoint without it."""
        model_dir = self.get_temp_dir()
        run_tiny_fastgan(model_dir, 1)
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
            run_tiny_fastgan(model_dir, 2)
        self.assertEqual(checkpoint_steps(model_dir), [1])


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
