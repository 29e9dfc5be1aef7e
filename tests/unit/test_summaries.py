"""What a run shows: labelled sample grids and described TensorBoard scalars."""

import json
import os

import numpy as np
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from tests.support import ROOT
from tfgan_fast.run import callbacks
from tfgan_fast.runtime import textstrip
from tfgan_fast.data import fashion_mnist


class TextStripTest(tf.test.TestCase):

    def test_glyphs_and_row_labels(self):
        mask = textstrip.render("I-1")
        self.assertEqual(mask.shape, (7, 17))
        np.testing.assert_array_equal(mask[:, :5], [[0, 1, 1, 1, 0]] + [[0, 0, 1, 0, 0]] * 5
                                      + [[0, 1, 1, 1, 0]])
        np.testing.assert_array_equal(mask[3, 6:11], [1, 1, 1, 1, 1])  # the hyphen
        grid = np.full([64, 40, 1], 128, np.uint8)
        out = textstrip.label_rows(grid, ["Bag", "Trouser"], row_height=32)
        width = textstrip.ADVANCE * len("Trouser") + 3
        self.assertEqual(out.shape, (64, width + 40, 1))
        np.testing.assert_array_equal(out[:, width:], grid)  # the grid itself is untouched
        strip = out[:, :width, 0]
        self.assertEqual(set(np.unique(strip)), {0, 255})
        ink_rows = np.nonzero(strip.max(axis=1))[0]
        self.assertTrue(set(ink_rows) <= set(range(12, 19)) | set(range(44, 51)))  # centred
        self.assertEqual(int(strip[12:19, 2:2 + 17].astype(bool).sum()),
                         int(textstrip.render("BAG").sum()))


class SummaryCallbackTest(tf.test.TestCase):

    def test_labelled_grid_and_scalar_descriptions(self):
        log_dir = os.path.join(self.get_temp_dir(), "train")
        cb = callbacks.SummaryCallback(
            log_dir, every=2, sample_fn=lambda z, y: tf.zeros([z.shape[0], 8, 8, 1]),
            grid=callbacks.SampleGrid(z_dim=4, num_classes=10,
                                      class_names=fashion_mnist.CLASS_NAMES, cols=3))
        cb.set_model(type("M", (), {"iteration": tf.Variable(0, dtype=tf.int64)})())
        cb.on_train_begin()
        for step in (1, 2):
            cb.model.iteration.assign(step)
            cb.on_train_batch_end(step, {"d_loss": 1.0, "d_fake_kl": 0.5, "my_new_log": 2.0})
        png = tf.io.decode_png(tf.io.read_file(
            os.path.join(self.get_temp_dir(), "samples", "step_00000002.png"))).numpy()
        strip = textstrip.ADVANCE * len("T-shirt/top") + 3  # the longest of the ten names
        self.assertEqual(png.shape, (80, strip + 24, 1))
        self.assertGreater(int(png[:, :strip].max()), 0)  # the names are drawn
        ea = event_accumulator.EventAccumulator(log_dir, size_guidance={"tensors": 0})
        ea.Reload()
        described = {tag: ea.SummaryMetadata(tag).summary_description
                     for tag in ea.Tags()["tensors"] if tag != "samples"}
        self.assertEqual(described["d/d_fake_kl"], callbacks.SCALAR_DESCRIPTIONS["d_fake_kl"])
        self.assertIn("KL between uniform", described["d/d_fake_kl"])
        self.assertIn("my_new_log: a training log", described["my_new_log"])
        self.assertTrue(all(described.values()), described)


class StatusLineTest(tf.test.TestCase):
    """Every summary: one status line, TensorBoard speed/ and memory/, a metrics.jsonl record."""

    def _callback(self, log_dir, stream):
        cb = callbacks.SummaryCallback(
            log_dir, every=2, sample_fn=lambda z, y: tf.zeros([z.shape[0], 8, 8, 1]),
            grid=callbacks.SampleGrid(z_dim=4, num_classes=0, cols=2),
            status=callbacks.StatusLine(
                os.path.join(os.path.dirname(log_dir), callbacks.METRICS_JSONL),
                images_per_iteration=64, eval_seconds_fn=lambda: 12.0, stream=stream),
            real_images=np.ones([20, 8, 8, 1], np.float32))
        cb.set_model(type("M", (), {"iteration": tf.Variable(0, dtype=tf.int64)})())
        return cb

    def test_status_line_jsonl_and_tensorboard(self):
        import io  # pylint: disable=import-outside-toplevel
        from unittest import mock  # pylint: disable=import-outside-toplevel
        log_dir = os.path.join(self.get_temp_dir(), "train")
        stream = io.StringIO()
        cb = self._callback(log_dir, stream)
        clock = [100.0]
        with mock.patch.object(callbacks.time, "time", lambda: clock[0]):
            cb.on_train_begin()
            for step, loss, now in ((1, 1.0, 100.5), (2, 2.0, 101.0), (3, 3.0, 102.0),
                                    (4, 5.0, 104.0)):
                clock[0] = now
                cb.model.iteration.assign(step)
                cb.on_train_batch_end(step, {"d_loss": loss})
        lines = stream.getvalue().splitlines()
        self.assertLen(lines, 2)
        # 2 iterations x 64 images in 1 s (t = 100 -> 101), then in 3 s (101 -> 104).
        self.assertRegex(lines[0], r"^status: iteration 2 \| 128 images/s \(7.81 s / 1k images\) "
                                   r"\| last evaluation 12 s \| RSS [\d.]+ GiB$")
        self.assertIn("iteration 4 | 43 images/s (23.44 s / 1k images)", lines[1])
        path = os.path.join(self.get_temp_dir(), "metrics.jsonl")
        with open(path, encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        self.assertEqual([r["iteration"] for r in records], [2, 4])
        self.assertAllClose([r["d_loss"] for r in records], [1.5, 4.0])
        self.assertAllClose([r["images_per_second"] for r in records], [128.0, 128.0 / 3])
        self.assertEqual(records[0]["last_eval_seconds"], 12.0)
        self.assertGreater(records[0]["rss_bytes"], 10 * 2 ** 20)
        ea = event_accumulator.EventAccumulator(log_dir, size_guidance={"tensors": 0})
        ea.Reload()
        self.assertContainsSubset({"speed/images_per_second", "memory/rss_gib", "real_images",
                                   "samples"}, set(ea.Tags()["tensors"]))

        # A run resumed at iteration 2 drops the records it will write again.
        again = self._callback(log_dir, io.StringIO())
        again.model.iteration.assign(2)
        again.on_train_begin()
        with open(path, encoding="utf-8") as f:
            self.assertEqual([json.loads(line)["iteration"] for line in f], [2])


if __name__ == "__main__":
    tf.test.main()


class ProgressCallbackTest(tf.test.TestCase):

    def test_prints_when_an_execution_crosses_the_interval(self):
        # Several iterations per call (run.steps_per_execution = 25) with a line every 10:
        # each batch end crosses a multiple of 10, so each prints, and the last one too.
        import io  # pylint: disable=import-outside-toplevel

        class Model:
            iteration = tf.Variable(0, dtype=tf.int64)

        stream = io.StringIO()
        cb = callbacks.ProgressCallback(100, every=10, stream=stream)
        model = Model()
        cb.set_model(model)
        cb.on_train_begin()
        for step in (25, 50, 75, 100):
            model.iteration.assign(step)
            cb.on_train_batch_end(0, {"d_loss": tf.constant(1.5)})
        lines = stream.getvalue().splitlines()
        self.assertEqual([line.split("]")[1].split("|")[0].strip() for line in lines],
                         ["25/100", "50/100", "75/100", "100/100"])
        self.assertIn("d_loss 1.5000", lines[-1])
        # One iteration per call: a line only where a multiple of 10 is reached.
        stream = io.StringIO()
        cb = callbacks.ProgressCallback(100, every=10, stream=stream)
        model.iteration.assign(0)
        cb.set_model(model)
        cb.on_train_begin()
        for step in range(1, 31):
            model.iteration.assign(step)
            cb.on_train_batch_end(0, {})
        self.assertEqual(len(stream.getvalue().splitlines()), 3)


class StartupCallbackTest(tf.test.TestCase):
    """The start-up line: set-up before `fit` plus the first execution, printed once."""

    def test_one_line_after_the_first_execution(self):
        import io  # pylint: disable=import-outside-toplevel
        from unittest import mock  # pylint: disable=import-outside-toplevel

        stream = io.StringIO()
        cb = callbacks.StartupCallback(stream=stream, setup_seconds=2.5)
        with mock.patch.object(callbacks.time, "perf_counter", side_effect=[10.0, 13.3]):
            cb.on_train_begin()
            cb.on_train_batch_end(0)
        cb.on_train_batch_end(1)
        self.assertEqual(stream.getvalue(),
                         "Start-up: first iteration done 5.8 s after launch: set-up 2.5 s "
                         "(imports, data, networks, restore), first iteration 3.3 s (tracing, "
                         "graph optimisation, execution).\n")

    def test_process_age(self):
        import subprocess  # pylint: disable=import-outside-toplevel
        import sys  # pylint: disable=import-outside-toplevel
        import time  # pylint: disable=import-outside-toplevel

        t0 = time.time()
        out = subprocess.run(
            [sys.executable, "-c", "import time; time.sleep(1.5); "
             "from tfgan_fast.runtime import hardware; print(hardware.process_age())"],
            capture_output=True, text=True, check=True, cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3"))
        wall = time.time() - t0
        age = float(out.stdout.split()[-1])
        self.assertGreaterEqual(age, 1.5)  # slept that long before asking
        self.assertLessEqual(age, wall + 0.05)  # clock ticks, not seconds, would exceed it
