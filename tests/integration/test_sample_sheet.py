"""tools/sample_sheet.py: generators side by side on the same latents, one row per class."""

import os
import shutil
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tests.support.tiny_nets import TinyGenerator
from tests.support import ROOT
from tfgan_fast.run import callbacks
from tfgan_fast.export import saved_model as export
from tfgan_fast.runtime import textstrip


def _export(path, seed):
    tf.keras.utils.set_random_seed(seed)
    g = TinyGenerator(z_dim=8, num_classes=3, size=8, channels=1)
    g(tf.zeros([1, 8]), tf.zeros([1], tf.int32))
    return g, export.export_generator(g, path, 8, 3)


def _tool(*args):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "sample_sheet.py"), *args],
                          capture_output=True, text=True, env=env, timeout=300, check=False)


class SampleSheetTest(tf.test.TestCase):

    def test_grids_on_shared_latents_with_titles_and_class_names(self):
        tmp = self.get_temp_dir()
        g_a, a = _export(os.path.join(tmp, "a"), 1)
        _, b = _export(os.path.join(tmp, "b"), 2)
        run_dir = os.path.join(tmp, "run")  # a run directory: its export/<version>/
        shutil.copytree(a, os.path.join(run_dir, "export", "7"))
        out = os.path.join(tmp, "sheet.png")
        proc = _tool(f"--run=A={a}", f"--run=B={b}", f"--run=RUN={run_dir}", "--per_class=4",
                     "--class_names=shoe,bag,coat", "--seed=3", f"--output={out}")
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        sheet = tf.io.decode_png(tf.io.read_file(out)).numpy()
        head = textstrip.GLYPH_HEIGHT + 6
        strip = textstrip.label_rows(np.zeros([24, 32, 1], np.uint8), ["shoe", "bag", "coat"],
                                     8).shape[1] - 32
        self.assertEqual(sheet.shape, (head + 3 * 8, strip + 3 * 32 + 2 * 4, 1))
        # The first grid is generator A on the seeded latents, one row per class.
        z = tf.random.stateless_normal([12, 8], [3, 0])
        labels = tf.repeat(tf.range(3), 4)
        expect = callbacks.image_grid(g_a(z, labels, training=False).numpy(), 3)
        first = sheet[head:, strip:strip + 32]
        self.assertAllClose(first.astype(int), expect.astype(int), atol=1)
        third = sheet[head:, strip + 2 * 36:strip + 2 * 36 + 32]
        second = sheet[head:, strip + 36:strip + 36 + 32]
        self.assertAllEqual(third, first)  # the same generator through its run directory
        self.assertGreater(np.abs(second.astype(int) - first.astype(int)).mean(), 1.0)
        self.assertTrue(sheet[:head, strip:].any())  # titles drawn
        self.assertTrue(sheet[head:, :strip].any())  # class names drawn

    def test_bad_arguments_are_one_line(self):
        tmp = self.get_temp_dir()
        _, a = _export(os.path.join(tmp, "a"), 1)
        for args, message in (([], "name at least one --run"),
                              (["--run=nope"], "expected TITLE=PATH"),
                              (["--run=A=/no/such"], "'/no/such' does not exist"),
                              ([f"--run=A={a}", "--class_names=x,y"], "2 names for 3 classes")):
            with self.subTest(args=args):
                proc = _tool(*args, f"--output={os.path.join(tmp, 'x.png')}")
                self.assertNotEqual(proc.returncode, 0)
                self.assertIn(message, proc.stderr)
                self.assertNotIn("Traceback", proc.stderr)
