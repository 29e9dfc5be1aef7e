"""A FARGAN run on the 8 Gaussians through `experiment.run`: its evaluations, scatter points,
resume, export, and tools/synthetic_figures.py on it (tests/unit/test_synthetic2d.py: the data
and metrics)."""

import csv
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tests.support import ROOT
from tfgan_fast.run import config
from tfgan_fast.run import experiment
from tfgan_fast.data import synthetic2d
from tfgan_fast.eval import synthetic


class SyntheticRunTest(tf.test.TestCase):

    def test_fargan_8gaussians_through_experiment_run(self):
        model_dir = self.get_temp_dir() + "/run"
        config.parse([os.path.join(ROOT, "gin/synthetic/fargan_8gaussians.gin")], [
            "run.train_steps = 4", "run.batch_size = 8", "FARGAN.num_far = 2",
            "FARGAN.num_fake = 8", "MLPGenerator.width = 8", "MLPDiscriminator.width = 8",
            "EightGaussians.num_points = 64", "synthetic_evaluation.every = 2",
            "synthetic_evaluation.num_samples = 100", "run.summary_every = 2",
            "run.progress = False"])
        result = experiment.run(model_dir)
        self.assertEqual(result["final_step"], 4)
        with open(os.path.join(model_dir, synthetic.CSV_NAME)) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([int(r["step"]) for r in rows], [2, 4])
        self.assertTrue(os.path.isfile(rows[-1]["scatter_png"]))
        png = tf.io.decode_png(tf.io.read_file(rows[-1]["scatter_png"]))
        self.assertEqual(png.shape, (400, 400, 3))
        self.assertEqual(int(rows[-1]["num_modes"]), 8)
        # The points behind each plot, and the real ones, for tools/synthetic_figures.py.
        points = np.load(os.path.join(model_dir, "scatter", "step_00000004.npy"))
        self.assertEqual(points.shape, (100, 2))
        real = np.load(os.path.join(model_dir, "scatter", "real.npy"))
        self.assertAllEqual(real, synthetic2d.EightGaussians(num_points=64).points)
        self.assertAllClose(float(rows[-1]["real_coverage"]),
                            synthetic.real_coverage(points, real))
        figures = subprocess.run(
            [sys.executable, os.path.join(ROOT, "tools", "synthetic_figures.py"),
             f"--run=FAR={model_dir}", f"--run=again={model_dir}", "--steps=2,4",
             f"--output={model_dir}/grid.png", f"--curves_output={model_dir}/curves.png"],
            capture_output=True, text=True, check=False)
        self.assertEqual(figures.returncode, 0, figures.stderr[-2000:])
        grid = tf.io.decode_png(tf.io.read_file(f"{model_dir}/grid.png"))
        self.assertGreater(grid.shape[0], 200)     # two rows of panels
        self.assertGreater(grid.shape[1], 200)     # two columns
        self.assertTrue(os.path.isfile(f"{model_dir}/curves.png"))
        table = [line for line in figures.stdout.splitlines() if line.startswith("| FAR |")]
        self.assertEqual(len(table), 2)
        self.assertIn(f"{float(rows[-1]['real_coverage']):.3f}", table[-1])
        bad = subprocess.run(
            [sys.executable, os.path.join(ROOT, "tools", "synthetic_figures.py"),
             f"--run=FAR={model_dir}", "--steps=3", f"--output={model_dir}/bad.png"],
            capture_output=True, text=True, check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("step_00000003.npy not found", bad.stderr)
        # A resumed run drops the rows after its checkpoint (iteration 2) and re-evaluates.
        config.parse([os.path.join(ROOT, "gin/synthetic/fargan_8gaussians.gin")], [
            "run.train_steps = 4", "run.batch_size = 8", "FARGAN.num_far = 2",
            "FARGAN.num_fake = 8", "MLPGenerator.width = 8", "MLPDiscriminator.width = 8",
            "EightGaussians.num_points = 64", "synthetic_evaluation.every = 2",
            "synthetic_evaluation.num_samples = 100", "run.summary_every = 2",
            "run.progress = False", "run.checkpoint_every = 2"])
        resumed = self.get_temp_dir() + "/resumed"
        experiment.run(resumed, **{})
        for suffix in (".index", ".data-00000-of-00001"):
            os.remove(os.path.join(resumed, "checkpoints", f"ckpt-4{suffix}"))
        with open(os.path.join(resumed, "checkpoints", "checkpoint"), "w") as f:
            f.write('model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-2"\n')
        experiment.run(resumed)
        with open(os.path.join(resumed, synthetic.CSV_NAME)) as f:
            self.assertEqual([int(r["step"]) for r in csv.DictReader(f)], [2, 4])
        # The exported generator serves 2-D points.
        loaded = tf.saved_model.load(result["export_path"])
        self.assertEqual(sorted(loaded.signatures), ["serving_default", "truncated"])  # no PNG
        served = loaded.signatures["serving_default"](z=tf.zeros([3, 2]))["images"]  # no labels
        self.assertEqual(served.shape, (3, 2))
        # Tools rebuild it without the data.
        exp = experiment.load_for_tools(model_dir)
        self.assertEqual(exp.trainer.num_classes, 0)
        self.assertEqual(int(exp.trainer.iteration.numpy()), 4)


if __name__ == "__main__":
    tf.test.main()
