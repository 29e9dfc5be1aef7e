"""The training program end to end: train, kill, resume, export, and its error messages."""

import functools
import os
import signal
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf

from tfgan_fast import callbacks
from tests import strategies
from tfgan_fast import config
from tfgan_fast import data as data_lib
from tfgan_fast import experiment
from tfgan_fast.algorithms import FastGAN
from tfgan_fast.nets import ResNetDiscriminator, ResNetGenerator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["ResNetGenerator.width = 16", "ResNetDiscriminator.width = 16", "run.z_dim = 16",
        "run.batch_size = 8", "run.summary_every = 2", "run.checkpoint_every = 2"]


def _cmd(model_dir, steps, module="tests.mock_train", gin_file="gin/fastgan_cifar.gin",
         extra=()):
    params = TINY + [f"run.train_steps = {steps}"] + list(extra)
    return ([sys.executable, "-m", module, f"--gin_file={gin_file}", f"--model_dir={model_dir}"]
            + [f"--gin_param={p}" for p in params])


def _env():
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


def _checkpoint_steps(model_dir):
    state = tf.train.get_checkpoint_state(os.path.join(model_dir, "checkpoints"))
    if not state:
        return []
    return [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths]


class KillAndResumeTest(tf.test.TestCase):

    def _kill_after_first_checkpoint(self, model_dir, steps, sig):
        log_path = os.path.join(self.get_temp_dir(), "killed_run.log")
        log = open(log_path, "wb")  # a file, not a pipe: an unread pipe can block the child
        proc = subprocess.Popen(_cmd(model_dir, steps), cwd=ROOT, env=_env(), stdout=log,
                                stderr=subprocess.STDOUT)
        deadline = time.time() + 240
        try:
            while time.time() < deadline and proc.poll() is None:
                if _checkpoint_steps(model_dir):
                    break
                time.sleep(0.2)
            self.assertIsNone(proc.poll(), "the run ended before it could be killed:\n"
                              + open(log_path, encoding="utf-8").read()[-3000:])
            self.assertTrue(_checkpoint_steps(model_dir), "no checkpoint within 240 s")
            proc.send_signal(sig)
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
        self.assertEqual(proc.returncode, -sig, open(log_path, encoding="utf-8").read()[-3000:])

    def test_sigkill_then_resume_reaches_same_final_step(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        steps = 80  # long enough that the kill lands mid-run, right after the first checkpoint
        self._kill_after_first_checkpoint(model_dir, steps, signal.SIGKILL)
        killed_at = max(_checkpoint_steps(model_dir))
        self.assertLess(killed_at, steps)
        out = subprocess.run(_cmd(model_dir, steps), cwd=ROOT, env=_env(), capture_output=True,
                             text=True, timeout=600)
        log = out.stdout + out.stderr
        self.assertEqual(out.returncode, 0, log[-3000:])
        self.assertIn(f"Resumed from {os.path.join(model_dir, 'checkpoints', 'ckpt-')}", log)
        self.assertEqual(max(_checkpoint_steps(model_dir)), steps)
        self.assertLessEqual(len(_checkpoint_steps(model_dir)), 3)  # keep_checkpoints
        for name in ("operative_config.gin", "export/saved_model.pb", "train"):
            self.assertTrue(os.path.exists(os.path.join(model_dir, name)), name)
        self.assertTrue(any(f.endswith(".png") for f in os.listdir(
            os.path.join(model_dir, "samples"))))

        # The run's state after resuming: the iteration and the optimisers' step counts
        # (FastGAN: 2 D steps per iteration) continue where the killed run left off.
        # Rebuilt as the tools do: without the training data (a DataSpec stands in).
        exp = experiment.load_for_tools(model_dir)
        trainer = exp.trainer
        self.assertEqual(int(trainer.iteration.numpy()), steps)
        self.assertEqual(int(trainer.d_optimizer.iterations.numpy()), 2 * steps)
        self.assertEqual(int(trainer.g_optimizer.iterations.numpy()), steps)

        # The exported SavedModel reproduces the restored generator.
        serve = tf.saved_model.load(os.path.join(model_dir, "export"))
        z = tf.random.stateless_normal([10, trainer.z_dim], seed=[1, 2])
        labels = tf.range(10, dtype=tf.int32)
        exported = serve.signatures["serving_default"](z=z, labels=labels)["images"]
        self.assertAllClose(exported, trainer.generate(z, labels), atol=1e-5)

        # A second resume with the run complete trains nothing and keeps the final step.
        out = subprocess.run(_cmd(model_dir, steps, extra=["run.export_at_end = False"]),
                             cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
        self.assertEqual(out.returncode, 0, (out.stdout + out.stderr)[-3000:])
        self.assertEqual(max(_checkpoint_steps(model_dir)), steps)

        # tools/export.py from an older checkpoint.
        older = sorted(_checkpoint_steps(model_dir))[0]
        out_path = os.path.join(self.get_temp_dir(), "older")
        out = subprocess.run(
            [sys.executable, "tools/export.py", f"--model_dir={model_dir}",
             f"--checkpoint={older}", f"--output={out_path}"],
            cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
        self.assertEqual(out.returncode, 0, (out.stdout + out.stderr)[-3000:])
        self.assertIn(f"Exported iteration {older}", out.stdout)
        older_images = tf.saved_model.load(out_path).signatures["serving_default"](
            z=z, labels=labels)["images"]
        self.assertNotAllClose(older_images, exported)


def _tiny_run(model_dir, data, steps=6, **kwargs):
    return experiment.run(
        model_dir, algorithm=FastGAN,
        generator=functools.partial(ResNetGenerator, width=16),
        discriminator=functools.partial(ResNetDiscriminator, width=16, head="ac"),
        data=data, train_steps=steps, batch_size=8, z_dim=16, checkpoint_every=2,
        summary_every=2, progress=False, **kwargs)


class _PoisonedData:
    """A data source whose batches turn NaN from the `bad_batch`-th one on."""

    def __init__(self, inner, bad_batch):
        self.inner, self.bad_batch = inner, bad_batch
        self.num_classes, self.image_shape, self.name = (
            inner.num_classes, inner.image_shape, "poisoned")

    def make(self, batch_size, seed=0, input_context=None, repeat=True):
        ds = self.inner.make(batch_size, seed=seed, input_context=input_context, repeat=repeat)
        bad = self.bad_batch

        def poison(i, batch):
            images, labels = batch
            nan = tf.fill(tf.shape(images), float("nan"))
            return tf.where(i >= bad, nan, images), labels

        return ds.enumerate().map(poison)


class FailureTest(tf.test.TestCase):

    def test_nan_stops_with_step_and_loss_and_keeps_last_good_checkpoint(self):
        model_dir = os.path.join(self.get_temp_dir(), "nan")
        data = _PoisonedData(data_lib.QuickstartFashionMNIST(), bad_batch=4)
        # NaN reals: ReLUs swallow NaN activations, so D's loss can stay finite while the
        # gradient w.r.t. the input, and with it the perturbation, goes NaN first.
        with self.assertRaisesRegex(callbacks.NonFiniteLossError,
                                    r"(d_loss|delta_\w+) became nan at iteration 5.*ckpt-4"):
            _tiny_run(model_dir, data, steps=10)
        self.assertEqual(max(_checkpoint_steps(model_dir)), 4)
        exp = _tiny_run(model_dir, data_lib.QuickstartFashionMNIST(), setup_only=True)
        self.assertEqual(exp.start_step, 4)
        self.assertTrue(callbacks.weights_are_finite(
            exp.trainer.variables + exp.trainer.state_variables()))

    def test_guard_names_a_loss_first(self):
        guard = callbacks.NonFiniteGuard()
        guard.set_model(type("M", (), {"iteration": tf.Variable(7, dtype=tf.int64)})())
        logs = {"delta_l2": float("nan"), "class_acc_real": float("inf"),
                "g_loss": float("nan"), "d_loss": 1.0}
        with self.assertRaisesRegex(callbacks.NonFiniteLossError,
                                    r"^g_loss became nan at iteration 7; .*none yet"):
            guard.on_train_batch_end(0, logs)
        guard.on_train_batch_end(0, {"d_loss": 1.0, "g_loss": -2.0})  # finite: no error

    def test_bad_gin_binding_names_it(self):
        with self.assertRaisesRegex(config.ConfigError, "trian_steps"):
            config.parse([os.path.join(ROOT, "gin/quickstart.gin")], ["run.trian_steps = 5"])
        with self.assertRaisesRegex(config.ConfigError, "NoSuchGAN"):
            config.parse([os.path.join(ROOT, "gin/quickstart.gin")],
                         ["run.algorithm = @NoSuchGAN"])

    def test_bad_run_values_name_the_binding(self):
        with self.assertRaisesRegex(ValueError, r"run.train_steps = -1"):
            _tiny_run(self.get_temp_dir(), data_lib.QuickstartFashionMNIST(), steps=-1)
        strategy = strategies.two_cpu_mirrored()
        with self.assertRaisesRegex(ValueError, r"run.batch_size=7 .* replicas \(2\)"):
            experiment.run(self.get_temp_dir(), algorithm=FastGAN, generator=ResNetGenerator,
                           discriminator=ResNetDiscriminator,
                           data=data_lib.QuickstartFashionMNIST(), train_steps=1,
                           batch_size=7, strategy_fn=lambda: strategy)

    def test_bad_flag_and_missing_gin_file(self):
        out = subprocess.run([sys.executable, "-m", "tfgan_fast.train", "--gin_file=nope.gin",
                              "--model_dir=/tmp/x"], cwd=ROOT, env=_env(),
                             capture_output=True, text=True, timeout=120)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("--gin_file=nope.gin: no such file", out.stderr)
        out = subprocess.run([sys.executable, "-m", "tfgan_fast.train", "--bogus_flag=1"],
                             cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("bogus_flag", out.stderr)

    def test_missing_data_dir_names_it(self):
        with self.assertRaisesRegex(data_lib.DataError, "/no/such/fashion"):
            data_lib.FashionMNIST(data_dir="/no/such/fashion")


if __name__ == "__main__":
    tf.test.main()
