"""The evaluation command lines: train_classifier, compute_fid_stats, evaluate, plot_curves.

Each tool runs as a subprocess on tiny settings (one epoch on 512 images, a few hundred samples);
the classifier is trained once for the whole class. Nothing uses the network: every tool gets a
local classifier.
"""

import csv
import json
import os
import shutil
import subprocess
import sys

import gin
import tensorflow as tf

from tests.support.tiny_nets import TinyGenerator
from tests.support import ROOT
from tfgan_fast.run import config
from tfgan_fast.run import experiment
from tfgan_fast.export import saved_model as export
from tfgan_fast.eval import callback as callback_lib
from tfgan_fast.eval import classifiers
from tfgan_fast.eval import evaluator as evaluator_lib
from tfgan_fast.eval import stats


def _tool(name, *args, check=True):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TFHUB_CACHE_DIR", None)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", name), *args],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{name} {args} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


class EvalToolsTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tf.compat.v1.test.get_temp_dir()
        cls.clf_path = os.path.join(cls.tmp, "fmnist_classifier")
        cls.train_log = _tool("train_classifier.py", "--dataset=fashion_mnist",
                              f"--output={cls.clf_path}", "--epochs=1", "--max_examples=512",
                              "--max_test_examples=256", "--batch_size=64").stdout
        cls.stats_path = os.path.join(cls.tmp, "quickstart_stats.npz")

    def _stats(self):
        if not os.path.isfile(self.stats_path):
            _tool("compute_fid_stats.py", "--dataset=quickstart", "--max_images=400",
                  f"--classifier_path={self.clf_path}", f"--output={self.stats_path}")
        return self.stats_path

    def test_train_classifier_writes_a_usable_classifier(self):
        self.assertIn("test accuracy", self.train_log)
        clf = classifiers.SavedModelClassifier(self.clf_path)
        meta = clf.metadata
        self.assertEqual(meta["dataset"], "fashion_mnist")
        self.assertEqual((meta["resolution"], meta["channels"]), (32, 1))
        self.assertEqual((meta["num_train"], meta["num_test"]), (512, 256))
        self.assertBetween(meta["test_accuracy"], 0.0, 1.0)
        self.assertEqual(clf.identity, meta["identity"])
        self.assertStartsWith(clf.identity, "fashion_mnist_cnn:")
        self.assertEqual(clf.qualify("FID"), "FID (fashion-mnist classifier)")
        logits, feats = clf(tf.zeros([2, 32, 32, 1]))
        self.assertEqual((logits.shape, feats.shape), ((2, 10), (2, 128)))

    def test_compute_fid_stats(self):
        path = self._stats()
        record = stats.load_stats(path, classifiers.SavedModelClassifier(self.clf_path).identity)
        self.assertEqual(record["num_images"], 400)
        self.assertEqual(record["dataset"], "quickstart_fashion_mnist")
        self.assertEqual(record["mu"].shape, (128,))
        # A second classifier identity is refused by the evaluator, not silently mixed.
        with self.assertRaisesRegex(stats.StatsError, "not comparable"):
            stats.load_stats(path, "another")
        # Reusing the file (no recomputation) and comparing it with itself: FID 0.
        proc = _tool("compute_fid_stats.py", "--dataset=quickstart", "--max_images=400",
                     f"--classifier_path={self.clf_path}", f"--output={path}",
                     f"--compare_to={path}")
        summary = json.loads(proc.stdout)
        self.assertEqual(summary["path"], path)
        self.assertAllClose(summary["compare_to"]["fid"], 0.0, atol=1e-6)
        self.assertEqual(summary["compare_to"]["metric_names"]["fid"],
                         "FID (fashion-mnist classifier)")

    def test_evaluate_saved_model_with_a_truncation_curve(self):
        g = TinyGenerator(z_dim=8, num_classes=10, size=32, channels=1)
        g(tf.zeros([1, 8]), tf.zeros([1], tf.int32))
        saved = export.export_generator(g, os.path.join(self.tmp, "generator"), 8, 10)
        out = os.path.join(self.tmp, "metrics.json")
        # Without its metadata file a shape-free export cannot tell z's size: one line says so.
        bare = os.path.join(self.tmp, "bare")
        shutil.copytree(saved, bare)
        os.remove(os.path.join(bare, export.METADATA))
        proc = _tool("evaluate.py", f"--saved_model={bare}", f"--real_stats={self._stats()}",
                     "--num_classes=10", f"--classifier_path={self.clf_path}", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(f"has no {export.METADATA} and its signature does not give z's size",
                      proc.stderr)
        proc = _tool("evaluate.py", f"--saved_model={saved}", f"--real_stats={self._stats()}",
                     "--num_classes=10", f"--classifier_path={self.clf_path}",
                     "--num_samples=200", "--splits=2", "--truncation=1.0,0", f"--output={out}")
        self.assertIn("truncation 0: FID (fashion-mnist classifier)", proc.stdout)
        with open(out, encoding="utf-8") as f:
            report = json.load(f)
        self.assertEqual([r["truncation"] for r in report["results"]], [1.0, 0.0])
        self.assertEqual(report["metric_names"]["fid"], "FID (fashion-mnist classifier)")
        self.assertEqual(report["classifier_name"], "fashion-mnist classifier")
        for r in report["results"]:
            self.assertGreater(r["fid"], 0.0)
            self.assertEqual(r["num_samples"], 200)

    def test_evaluate_model_dir(self):
        model_dir = os.path.join(self.tmp, "run")
        tiny = ["ResNetGenerator.width = 16", "ResNetDiscriminator.width = 16",
                "run.z_dim = 16", "run.batch_size = 8", "run.train_steps = 1",
                "run.checkpoint_every = 1", "run.summary_every = 0", "run.progress = False",
                "run.export_at_end = False"]
        try:
            config.parse([os.path.join(ROOT, "gin", "quickstart.gin")], tiny)
            experiment.run(model_dir)
        finally:
            gin.clear_config()
        proc = _tool("evaluate.py", f"--model_dir={model_dir}", "--checkpoint=1",
                     f"--classifier_path={self.clf_path}", "--num_samples=100", "--splits=2",
                     f"--cache_dir={os.path.join(self.tmp, 'cache')}")
        report = json.loads(proc.stdout[proc.stdout.index("{"):])
        self.assertEqual(report["step"], 1)
        self.assertEqual(report["dataset"], "quickstart_fashion_mnist")
        # Per-class precision and recall, one table row per class with its name.
        self.assertIn("per class (precision and recall with k = 3 within each class):",
                      proc.stdout)
        self.assertRegex(proc.stdout, r"\n  9 Ankle boot +[0-9.]+ +[0-9.]+\n")
        self.assertLen(report["results"][0]["class_recall"], 10)
        self.assertTrue(os.listdir(os.path.join(self.tmp, "cache")))

    def test_unreachable_hub_is_reported_by_the_tools(self):
        # No --classifier_path: the default TF-Hub Inception, with the probe patched to
        # "unreachable" (no network is touched) and an empty TF-Hub cache.
        script = ("import runpy, sys\n"
                  "from tfgan_fast.eval import classifiers\n"
                  "classifiers._host_reachable = lambda url, timeout=None: False\n"
                  f"sys.argv = ['compute_fid_stats.py', '--dataset=quickstart']\n"
                  f"runpy.run_path({os.path.join(ROOT, 'tools', 'compute_fid_stats.py')!r}, "
                  "run_name='__main__')\n")
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
            check=False, env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2",
                                  TFHUB_CACHE_DIR=os.path.join(self.tmp, "empty_hub_cache")))
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("unreachable", proc.stderr)
        self.assertIn("TFHUB_CACHE_DIR", proc.stderr)
        self.assertIn("--classifier_path", proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)

    def test_plot_curves(self):
        try:
            import matplotlib  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
        except ImportError:
            self.skipTest("matplotlib not installed (optional extra)")
        runs = []
        for name, fids in (("fastgan", [30.0, 20.0, 15.0]), ("sngan", [40.0, 32.0, 25.0])):
            d = os.path.join(self.tmp, "curves", name)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "metrics.csv"), "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(callback_lib.CSV_COLUMNS)
                for i, fid in enumerate(fids):
                    w.writerow([(i + 1) * 100, (i + 1) * 50.0, (i + 1) * 6400, 3.0, 0.1, fid,
                                0.01, "fashion_mnist_cnn:abc", 2.0])
            runs.append(d)
        png = os.path.join(self.tmp, "curves.png")
        proc = _tool("plot_curves.py", *runs, "--metric=fid", "--x=seconds", f"--output={png}")
        self.assertIn("2 runs", proc.stdout)
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        bad = _tool("plot_curves.py", runs[0], os.path.join(self.tmp, "nowhere"), check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("no rows to plot", bad.stderr)


class GinTest(tf.test.TestCase):

    def test_evaluator_classifier_from_gin(self):
        path = os.path.join(self.get_temp_dir(), "gin_clf")
        from tfgan_fast.eval import small_classifier  # pylint: disable=import-outside-toplevel
        small_classifier.export_classifier(small_classifier.build_small_cnn(8, 1, 3, width=4),
                                           path, {"display_name": "gin classifier"})
        try:
            with gin.unlock_config():
                gin.parse_config(["Evaluator.classifier = @SavedModelClassifier()",
                                  f"SavedModelClassifier.path = '{path}'",
                                  "Evaluator.num_samples = 20", "Evaluator.splits = 2"])
            ev = evaluator_lib.Evaluator()
        finally:
            gin.clear_config()
        self.assertIsInstance(ev.classifier, classifiers.SavedModelClassifier)
        self.assertEqual(ev.classifier.display_name, "gin classifier")
        self.assertEqual((ev.num_samples, ev.splits), (20, 2))



class ImageFolderClassifierTest(tf.test.TestCase):

    def test_train_classifier_on_an_image_folder(self):
        """Two classes told apart by colour: the held-out tenth of each class is recognised."""
        import zlib  # pylint: disable=import-outside-toplevel
        import numpy as np  # pylint: disable=import-outside-toplevel
        root = os.path.join(self.get_temp_dir(), "colours")
        rng = np.random.default_rng(0)
        for cls, channel in (("blue", 2), ("red", 0)):
            os.makedirs(os.path.join(root, cls))
            for k in range(100):
                pixels = rng.integers(0, 60, (12, 12, 3))
                pixels[..., channel] += 180
                with open(os.path.join(root, cls, f"{k}.png"), "wb") as f:
                    f.write(tf.io.encode_png(pixels.astype(np.uint8)).numpy())
        out = os.path.join(self.get_temp_dir(), "colours_classifier")
        log = _tool("train_classifier.py", f"--image_folder={root}", f"--output={out}",
                    "--epochs=3", "--batch_size=16", "--resolution=16").stdout
        self.assertIn("colours classifier", log)
        meta = classifiers.SavedModelClassifier(out).metadata
        held_out = sum(zlib.crc32(f"{c}/{k}.png".encode()) % 10000 < 1000
                       for c in ("blue", "red") for k in range(100))
        # Training reads whole batches of 16; the test split is read whole.
        self.assertEqual((meta["num_train"], meta["num_test"]),
                         ((200 - held_out) // 16 * 16, held_out))
        self.assertEqual((meta["dataset"], meta["resolution"], meta["channels"]),
                         ("colours", 16, 3))
        self.assertEqual(meta["test_accuracy"], 1.0)
        # The documented own-images command evaluates with it (docs/getting_started.md).
        model_dir = os.path.join(self.get_temp_dir(), "run")
        params = [f"ImageFolder.path = '{root}'", "ImageFolder.resolution = 16",
                  "Evaluator.classifier = @SavedModelClassifier()",
                  f"SavedModelClassifier.path = '{out}'", "run.train_steps = 2",
                  "run.eval_every = 2", "run.batch_size = 8", "Evaluator.num_samples = 64",
                  "Evaluator.final_num_samples = 64", "Evaluator.fid_num_samples = 64",
                  "ResNetGenerator.width = 8", "ResNetDiscriminator.width = 8",
                  "run.mixed_precision = None"]
        env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
        proc = subprocess.run(
            [sys.executable, "-m", "tfgan_fast.train", "--gin_file=gin/image_folder.gin",
             f"--model_dir={model_dir}"] + [f"--gin_param={p}" for p in params],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        with open(os.path.join(model_dir, "metrics.csv"), encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([r["step"] for r in rows], ["2"])
        self.assertEqual(rows[0]["classifier"], meta["identity"])
        self.assertBetween(float(rows[0]["class_acc"]), 0.0, 1.0)
        self.assertIn("FID (colours classifier)", proc.stdout)


if __name__ == "__main__":
    tf.test.main()
