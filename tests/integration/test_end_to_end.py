"""The training program end to end: train, kill, resume, export, and its error messages."""

import functools
import os
import random
import re
import signal
import subprocess
import sys
import time
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

from tfgan_fast.run import callbacks
from tests.support import ROOT, strategies
from tests.support.offline import mock_tfds
from tfgan_fast.run import config
from tfgan_fast import data as data_lib
from tfgan_fast.run import experiment
from tfgan_fast.algorithms import FastGAN
from tfgan_fast.nets import ResNetDiscriminator, ResNetGenerator

# Tiny nets, and no Inception evaluation (TF-Hub is unreachable offline; evaluation is tested
# with a small classifier in EvaluationWiringTest). float32: these runs compare the export with
# the restored generator exactly, and bfloat16 graphs round differently from eager bfloat16
# (the bfloat16 export is compared with its own tolerance in test_export).
TINY = ["ResNetGenerator.width = 16", "ResNetDiscriminator.width = 16", "run.z_dim = 16",
        "run.batch_size = 8", "run.summary_every = 2", "run.checkpoint_every = 2",
        "run.evaluator = None", "run.mixed_precision = None"]


def _cmd(model_dir, steps, module="tests.support.mock_train", gin_file="gin/fastgan_cifar.gin",
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


@pytest.mark.slow
class _KillAndResume(tf.test.TestCase):
    """SIGKILL at random moments (mid-step or mid-save; three on one device, one on two
    replicas), then the same command: the final checkpoint equals the uninterrupted run's bit
    for bit. (Two test classes, so that a parallel run gives them two processes.)"""

    STEPS = 24  # long enough that each kill lands well before the end

    def _kill_at(self, model_dir, steps, target, delay, env, extra=()):
        """Starts the run and SIGKILLs it `delay` s after its checkpoint `target` appeared."""
        log_path = os.path.join(self.get_temp_dir(), f"killed_{target}.log")
        with open(log_path, "wb") as log:  # a file, not a pipe: an unread pipe can block
            proc = subprocess.Popen(_cmd(model_dir, steps, extra=extra), cwd=ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
            deadline = time.time() + 300
            try:
                while (time.time() < deadline and proc.poll() is None
                       and max(_checkpoint_steps(model_dir), default=0) < target):
                    time.sleep(0.05)
                time.sleep(delay)
                self.assertIsNone(proc.poll(), "the run ended before it could be killed:\n"
                                  + open(log_path, encoding="utf-8").read()[-3000:])
                proc.send_signal(signal.SIGKILL)
                proc.wait(60)
            finally:
                if proc.poll() is None:
                    proc.kill()
        self.assertEqual(proc.returncode, -signal.SIGKILL)

    def _kill_and_resume(self, name, env, extra=(), kills=3):
        from tests.support.runs import checkpoint_tensors  # pylint: disable=import-outside-toplevel
        rng = random.Random(name)
        steps = self.STEPS
        extra = ["run.checkpoint_every = 1", "run.keep_checkpoints = 2"] + list(extra)
        whole = os.path.join(self.get_temp_dir(), name, "whole")
        out = subprocess.run(_cmd(whole, steps, extra=extra + ["run.export_at_end = False"]),
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        self.assertEqual(out.returncode, 0, (out.stdout + out.stderr)[-3000:])
        model_dir = os.path.join(self.get_temp_dir(), name, "run")
        for target in sorted(rng.sample(range(1, steps // 2), kills)):
            self._kill_at(model_dir, steps, target, rng.uniform(0.0, 0.3), env, extra)
        killed_at = max(_checkpoint_steps(model_dir))
        self.assertLess(killed_at, steps)
        out = subprocess.run(_cmd(model_dir, steps, extra=extra), cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
        log = out.stdout + out.stderr
        self.assertEqual(out.returncode, 0, log[-3000:])
        self.assertIn(f"Resumed from {os.path.join(model_dir, 'checkpoints', 'ckpt-')}", log)
        final = os.path.join(model_dir, "checkpoints", f"ckpt-{steps}")
        want = checkpoint_tensors(os.path.join(whole, "checkpoints", f"ckpt-{steps}"))
        got = checkpoint_tensors(final)
        self.assertEqual(sorted(want), sorted(got))
        self.assertEqual([k for k in want if not np.array_equal(want[k], got[k])], [])
        return model_dir, log


class TwoReplicaKillAndResumeTest(_KillAndResume):

    def test_two_replicas_sigkill_then_resume_ends_bit_identical(self):
        # One kill here (three on one device): the suite's time goes to multi-worker kills as
        # well (tests/integration/test_multiworker.py).
        env = dict(_env(), TFGAN_FAST_TEST_CPUS="2")
        self._kill_and_resume("two_replicas", env,
                              ["make_strategy.devices = ['/cpu:0', '/cpu:1']"], kills=1)


class KillAndResumeTest(_KillAndResume):

    def test_sigkill_then_resume_reaches_same_final_step(self):
        model_dir, log = self._kill_and_resume("one_device", _env())
        steps = self.STEPS
        self.assertEqual(max(_checkpoint_steps(model_dir)), steps)
        self.assertLessEqual(len(_checkpoint_steps(model_dir)), 2)  # keep_checkpoints
        for name in ("operative_config.gin", f"export/{steps}/saved_model.pb", "train"):
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
        serve = tf.saved_model.load(os.path.join(model_dir, "export", str(steps)))
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
             f"--checkpoint={older}", f"--output={out_path}", "--format=onnx"],
            cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
        self.assertEqual(out.returncode, 0, (out.stdout + out.stderr)[-3000:])
        self.assertIn(f"Exported iteration {older}", out.stdout)
        missing = subprocess.run(
            [sys.executable, "tools/export.py", f"--model_dir={model_dir}", "--checkpoint=999",
             f"--output={out_path}"], cwd=ROOT, env=_env(), capture_output=True, text=True,
            timeout=600)
        self.assertEqual(missing.returncode, 1)
        self.assertNotIn("Traceback", missing.stderr)
        self.assertRegex(missing.stderr, r"FileNotFoundError: checkpoint '.*ckpt-999' does not "
                                         r"exist \(known: .*ckpt-\d+.*\) \(--traceback shows where\)")
        self.assertEqual(os.listdir(out_path), [str(older)])  # TF Serving's layout
        older_serve = tf.saved_model.load(os.path.join(out_path, str(older)))
        older_images = older_serve.signatures["serving_default"](z=z, labels=labels)["images"]
        self.assertNotAllClose(older_images, exported)
        # --format=onnx wrote the ONNX file beside that SavedModel, and it computes the same.
        import onnxruntime  # pylint: disable=import-outside-toplevel
        session = onnxruntime.InferenceSession(
            os.path.join(out_path, str(older), "generator.onnx"))
        onnx_images = session.run(["images"], {"z": z.numpy(), "labels": labels.numpy()})[0]
        self.assertAllClose(onnx_images, older_images, atol=1e-4)


class StopRequestTest(tf.test.TestCase):
    """Ctrl-C and SIGTERM are recorded by the handler and raised at the end of the iteration
    they arrived in, never from inside whatever the interpreter was running."""

    def _fit_signalled(self, signals_at, seen, ended):
        import keras  # pylint: disable=import-outside-toplevel

        class Send(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                seen.append(batch)
                for sig in signals_at.get(batch, ()):
                    os.kill(os.getpid(), sig)  # arrives while the iteration runs

            def on_train_batch_end(self, batch, logs=None):
                ended.append(batch)

        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        x = np.zeros((40, 1), np.float32)
        before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        try:
            with callbacks.stop_on_signals() as stop:
                model.fit(x, x, batch_size=4, epochs=1, verbose=0, callbacks=[Send(), stop])
        finally:
            self.assertEqual((signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)),
                             before)  # the previous handlers are back

    def test_ctrl_c_stops_at_the_end_of_its_iteration(self):
        seen, ended = [], []
        with self.assertRaises(KeyboardInterrupt):
            self._fit_signalled({2: [signal.SIGINT]}, seen, ended)
        self.assertEqual((seen, ended), ([0, 1, 2], [0, 1, 2]))
        seen, ended = [], []
        self._fit_signalled({}, seen, ended)  # no signal: all 10 iterations
        self.assertEqual(ended, list(range(10)))

    def test_sigterm_exits_with_its_status_and_a_second_signal_at_once(self):
        seen, ended = [], []
        with self.assertRaises(SystemExit) as cm:
            self._fit_signalled({3: [signal.SIGTERM]}, seen, ended)
        self.assertEqual(cm.exception.code, 128 + signal.SIGTERM)
        self.assertEqual(ended, [0, 1, 2, 3])
        seen, ended = [], []
        with self.assertRaises(KeyboardInterrupt):  # the second does not wait for the end
            self._fit_signalled({1: [signal.SIGTERM, signal.SIGINT]}, seen, ended)
        self.assertEqual((seen, ended), ([0, 1], [0]))


@pytest.mark.slow
class GracefulStopTest(tf.test.TestCase):

    def _stop_after(self, model_dir, steps, min_step, sig):
        """Starts a run with no periodic checkpoints and sends `sig` once it passed `min_step`."""
        log_path = os.path.join(self.get_temp_dir(), f"run_{sig}.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                _cmd(model_dir, steps, extra=["run.checkpoint_every = 0"]), cwd=ROOT,
                env=_env(), stdout=log, stderr=subprocess.STDOUT)
            deadline = time.time() + 240
            pattern = re.compile(rb"\] (\d+)/%d \|" % steps)
            try:
                while time.time() < deadline and proc.poll() is None:
                    done = [int(m) for m in pattern.findall(open(log_path, "rb").read())]
                    if done and max(done) >= min_step:
                        break
                    time.sleep(0.2)
                self.assertIsNone(proc.poll(), open(log_path, encoding="utf-8").read()[-3000:])
                proc.send_signal(sig)
                proc.wait(120)
            finally:
                if proc.poll() is None:
                    proc.kill()
        return proc.returncode, open(log_path, encoding="utf-8").read()

    def test_ctrl_c_and_sigterm_save_the_current_iteration(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        steps = 200
        rc, log = self._stop_after(model_dir, steps, 3, signal.SIGINT)
        self.assertEqual(rc, 130, log[-3000:])
        first = _checkpoint_steps(model_dir)
        self.assertLen(first, 1)  # no periodic checkpoint: this one was saved on Ctrl-C
        self.assertBetween(first[0], 3, steps - 1)
        self.assertIn(f"Stopped at iteration {first[0]}; saved", log)

        rc, log = self._stop_after(model_dir, steps, first[0] + 2, signal.SIGTERM)
        self.assertEqual(rc, 128 + signal.SIGTERM, log[-3000:])
        self.assertIn(f"Resumed from {os.path.join(model_dir, 'checkpoints', 'ckpt-')}"
                      f"{first[0]}", log)
        second = max(_checkpoint_steps(model_dir))
        self.assertGreater(second, first[0])
        exp = experiment.load_for_tools(model_dir)
        self.assertEqual(int(exp.trainer.iteration.numpy()), second)
        self.assertEqual(int(exp.trainer.d_optimizer.iterations.numpy()), 2 * second)


def _tiny_run(model_dir, data, steps=6, **kwargs):
    return experiment.run(
        model_dir, algorithm=FastGAN,
        generator=functools.partial(ResNetGenerator, width=16),
        discriminator=functools.partial(ResNetDiscriminator, width=16, head="ac"),
        data=data, train_steps=steps, batch_size=8, z_dim=16, checkpoint_every=2,
        summary_every=2, progress=False, **kwargs)


class EvaluationWiringTest(tf.test.TestCase):

    def test_periodic_evaluation_metrics_csv_and_best_checkpoint(self):
        import json  # pylint: disable=import-outside-toplevel

        import keras  # pylint: disable=import-outside-toplevel

        from tfgan_fast import eval as eval_lib  # pylint: disable=import-outside-toplevel

        inputs = keras.Input((32, 32, 1))
        features = keras.layers.Dense(8, name="features")(keras.layers.Flatten()(inputs))
        model = keras.Model(inputs, keras.layers.Dense(10)(features))
        evaluator = eval_lib.Evaluator(
            classifier=eval_lib.KerasClassifier(model, features_layer="features",
                                                identity="tiny-test-classifier"),
            num_samples=40, splits=2, batch_size=20,
            real_data=data_lib.QuickstartFashionMNIST(augment=False), real_max_images=200,
            stats_cache_dir=os.path.join(self.get_temp_dir(), "stats"), progress=False)
        model_dir = os.path.join(self.get_temp_dir(), "eval_run")
        _tiny_run(model_dir, data_lib.QuickstartFashionMNIST(), steps=4, evaluator=evaluator,
                  eval_every=2)
        rows = eval_lib.read_metrics(os.path.join(model_dir, "metrics.csv"))
        self.assertEqual([r["step"] for r in rows], [2, 4])
        self.assertEqual([r["images_seen"] for r in rows], [16, 32])  # iteration x batch 8
        self.assertLess(rows[0]["wall_clock_seconds"], rows[1]["wall_clock_seconds"])
        for r in rows:
            self.assertEqual(r["classifier"], "tiny-test-classifier")
            self.assertGreaterEqual(r["fid"], 0.0)
            self.assertBetween(r["is_mean"], 1.0, 10.0)
        with open(os.path.join(model_dir, "best", "best.json"), encoding="utf-8") as f:
            best = json.load(f)
        best_row = min(rows, key=lambda r: r["fid"])
        self.assertEqual(best["step"], best_row["step"])
        self.assertAllClose(best["fid"], best_row["fid"])
        self.assertTrue(tf.io.gfile.exists(
            os.path.join(model_dir, "best", f"ckpt-{best['step']}.index")))
        # The status line (summary_every = 2) reports the evaluation that ran before it.
        with open(os.path.join(model_dir, "metrics.jsonl"), encoding="utf-8") as f:
            status = [json.loads(line) for line in f]
        self.assertEqual([r["iteration"] for r in status], [2, 4])
        self.assertNotIn("last_eval_seconds", status[0])  # evaluations run after summaries
        self.assertGreater(status[1]["last_eval_seconds"], 0.0)


class QuickstartTest(tf.test.TestCase):

    def test_quickstart_config_evaluates_offline_and_ends_with_a_summary(self):
        """gin/quickstart.gin as shipped (tiny sizes): the packaged classifier and statistics,
        the precision it chose, and the closing summary with the figures it measured."""
        import contextlib  # pylint: disable=import-outside-toplevel
        import io  # pylint: disable=import-outside-toplevel

        from tfgan_fast.runtime import precision  # pylint: disable=import-outside-toplevel
        from tfgan_fast.eval import read_metrics  # pylint: disable=import-outside-toplevel

        model_dir = os.path.join(self.get_temp_dir(), "quickstart")
        config.parse([os.path.join(ROOT, "gin", "quickstart.gin")], [
            "ResNetGenerator.width = 8", "ResNetDiscriminator.width = 8", "run.batch_size = 8",
            "run.train_steps = 4", "run.eval_every = 2", "run.summary_every = 2",
            "Evaluator.num_samples = 60", "Evaluator.splits = 2", "run.progress = False",
            "Evaluator.progress = False"])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            result = experiment.run(model_dir)
        log = out.getvalue()
        self.assertIn(f"Numeric policy: {precision.resolve('auto')[1]}.", log)
        rows = read_metrics(os.path.join(model_dir, "metrics.csv"))
        self.assertEqual([r["step"] for r in rows], [2, 4])
        last = rows[-1]
        self.assertTrue(last["classifier"].startswith("fashion_mnist_cnn:"))
        self.assertBetween(last["class_acc"], 0.0, 1.0)
        self.assertEqual(result["evaluation"]["fid"], last["fid"])
        self.assertIn(f"quality at iteration 4: FID (fashion-mnist classifier) "
                      f"{last['fid']:.2f}, IS (fashion-mnist classifier) {last['is_mean']:.2f}"
                      f" ± {last['is_std']:.2f}, class accuracy {100 * last['class_acc']:.1f}%",
                      log)
        # Every figure says how it was measured (the packaged statistics of the 60k training
        # images, 60 generated images, the classifier's own 32x32 input).
        self.assertEqual(last["convention"], "real: fashion_mnist train (60000 images); "
                                             "generated: 60; no resize")
        self.assertIn(f"    measured with {last['convention']}", log)
        self.assertBetween(last["recall"], 0.0, 1.0)
        grid = os.path.join(model_dir, "samples", "step_00000004.png")
        self.assertTrue(os.path.isfile(grid))
        self.assertIn(f"samples (one row per class): {grid}", log)
        self.assertIn(f"tensorboard --logdir {model_dir}", log)
        self.assertEqual(result["export_path"], os.path.join(model_dir, "export", "4"))
        self.assertIn(f"-v \"$(realpath {os.path.join(model_dir, 'export')})\":/models/generator "
                      "-e MODEL_NAME=generator tensorflow/serving", log)
        self.assertIn("the same command with --gin_param=run.train_steps=N (N > 4) resumes at "
                      "iteration 4", log)


class _PoisonedData:
    """A data source whose batches turn NaN from the `bad_batch`-th one on."""

    def __init__(self, inner, bad_batch):
        self.inner, self.bad_batch = inner, bad_batch
        self.num_classes, self.image_shape, self.name = (
            inner.num_classes, inner.image_shape, "poisoned")

    exact_resume = True

    def make(self, batch_size, seed=0, input_context=None, repeat=True, start_step=0):
        ds = self.inner.make(batch_size, seed=seed, input_context=input_context, repeat=repeat,
                             start_step=start_step)
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
                                    r"^g_loss became nan at iteration 7; .*No checkpoint "
                                    r"was written yet"):
            guard.on_train_batch_end(0, logs)
        guard.on_train_batch_end(0, {"d_loss": 1.0, "g_loss": -2.0})  # finite: no error

    def test_unreachable_inception_fails_before_training_with_the_way_out(self):
        model_dir = os.path.join(self.get_temp_dir(), "no_hub")
        with_eval = [p for p in TINY if not p.startswith("run.evaluator")]
        config.parse([os.path.join(ROOT, "gin/fastgan_cifar.gin")],
                     with_eval + ["run.train_steps = 2"])
        with mock.patch("tfgan_fast.eval.classifiers._host_reachable", return_value=False), \
                mock_tfds(num_examples=16):
            with self.assertRaisesRegex(experiment.EvaluationSetupError,
                                        r"(?s)tfhub\.dev.*run\.evaluator = None"):
                experiment.run(model_dir)
        self.assertEqual(_checkpoint_steps(model_dir), [])

    def test_bad_gin_binding_names_it(self):
        quickstart = [os.path.join(ROOT, "gin/quickstart.gin")]
        with self.assertRaisesRegex(config.ConfigError,
                                    r"trian_steps.*Did you mean 'run\.train_steps'\?$"):
            config.parse(quickstart, ["run.trian_steps = 5"])
        with self.assertRaisesRegex(config.ConfigError, "NoSuchGAN"):
            config.parse(quickstart, ["run.algorithm = @NoSuchGAN"])
        with self.assertRaisesRegex(config.ConfigError, r"@FastGNA.*Did you mean 'FastGAN'\?$"):
            config.parse(quickstart, ["run.algorithm = @FastGNA"])
        with self.assertRaisesRegex(config.ConfigError,
                                    r"Strings must be quoted in gin: 'auto' \(e\.g\."):
            config.parse(quickstart, ["run.mixed_precision = auto"])

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
        out = subprocess.run([sys.executable, "-m", "tfgan_fast.train", "--train_steps=5",
                              "--gin_file=gin/quickstart.gin", "--model_dir=/tmp/x"],
                             cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 1)
        self.assertIn("Unknown command line flag 'train_steps'. Gin settings are not flags: "
                      "pass --gin_param='run.train_steps = VALUE'", out.stderr)
        self.assertNotIn("Traceback", out.stderr)
        # A whole binding given as a flag is named as it is, not prefixed again.
        out = subprocess.run([sys.executable, "-m", "tfgan_fast.train", "--run.train_steps=5",
                              "--gin_file=gin/quickstart.gin", "--model_dir=/tmp/x"],
                             cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 1)
        self.assertIn("Gin settings are not flags: pass --gin_param='run.train_steps = VALUE'",
                      out.stderr)

    def test_missing_data_dir_names_it(self):
        with self.assertRaisesRegex(data_lib.DataError, "/no/such/fashion"):
            data_lib.FashionMNIST(data_dir="/no/such/fashion")


if __name__ == "__main__":
    tf.test.main()
