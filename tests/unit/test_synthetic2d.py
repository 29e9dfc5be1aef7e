"""The finite 2-D sets, their metrics and scatter plots, FARGAN on labelled data, and
`run.steps_per_execution` (tests/integration/test_synthetic2d.py: a FARGAN run end to end)."""

import csv
import os

import numpy as np
import tensorflow as tf

from tests.support import ROOT, strategies
from tests.support.runs import checkpoint_tensors
from tfgan_fast.run import config
from tfgan_fast.run import experiment
from tfgan_fast.data import synthetic2d
from tfgan_fast.eval import synthetic

SOURCES = (synthetic2d.FiniteGaussian, synthetic2d.EightGaussians,
           synthetic2d.TwentyFiveGaussians, synthetic2d.SwissRoll)


class DataTest(tf.test.TestCase):

    def test_deterministic_under_a_seed(self):
        for cls in SOURCES:
            with self.subTest(cls.__name__):
                a, b = cls(num_points=64, seed=3), cls(num_points=64, seed=3)
                self.assertAllEqual(a.points, b.points)
                self.assertNotAllClose(a.points, cls(num_points=64, seed=4).points)
                self.assertEqual(a.points.shape, (64, 2))
                self.assertEqual((a.num_classes, a.image_shape), (0, (2,)))
                batches = [x for x, _ in a.make(8, seed=1, repeat=False)]
                again = [x for x, _ in a.make(8, seed=1, repeat=False)]
                self.assertAllEqual(batches[0], again[0])

    def test_geometry(self):
        eight = synthetic2d.EightGaussians(num_points=400)
        self.assertEqual(eight.centers.shape, (8, 2))
        self.assertAllClose(np.linalg.norm(eight.centers, axis=1), [10 / 1.414] * 8, atol=1e-5)
        d = np.linalg.norm(eight.points[:, None] - eight.centers[None], axis=-1).min(1)
        self.assertLess(d.max(), 5 * eight.std)
        grid = synthetic2d.TwentyFiveGaussians(num_points=64)
        self.assertEqual(grid.centers.shape, (25, 2))
        self.assertIsNone(synthetic2d.SwissRoll(num_points=8).centers)
        with self.assertRaisesRegex(ValueError, "num_points must be a positive integer, got 0"):
            synthetic2d.EightGaussians(num_points=0)

    def test_one_epoch_is_the_finite_set(self):
        data = synthetic2d.EightGaussians(num_points=32, seed=1)
        ds = data.make(8, seed=5)
        seen = np.concatenate([x.numpy() for x, _ in ds.take(4)])
        labels = np.concatenate([y.numpy() for _, y in ds.take(4)])
        self.assertAllEqual(labels, np.zeros(32))
        self.assertAllClose(np.sort(seen, axis=0), np.sort(data.points, axis=0))
        self.assertNotAllClose(seen, data.points)  # shuffled


    def test_fresh_samples_the_distribution_every_batch_and_resumes(self):
        data = synthetic2d.EightGaussians(num_points=32, seed=1, fresh=True)
        batches = [x.numpy() for x, _ in data.make(16, seed=5).take(4)]
        seen = np.concatenate(batches)
        # New points every batch, none of them from the finite set, all on the 8 modes.
        self.assertEqual(len(np.unique(seen, axis=0)), 64)
        self.assertFalse(np.isin(seen, data.points).any())
        d = np.linalg.norm(seen[:, None] - data.centers[None], axis=-1).min(1)
        self.assertLess(d.max(), 6 * data.std)
        # A pure function of (set seed, run seed, iteration): resumed at 2, the same batches.
        resumed = [x.numpy() for x, _ in data.make(16, seed=5, start_step=2).take(2)]
        self.assertAllEqual(resumed, batches[2:])
        self.assertNotAllClose(batches[0], next(iter(data.make(16, seed=6)))[0])
        # Two replicas (one pipeline each) read the halves of the one-device batch.
        halves = [np.concatenate([next(iter(data.make(8, seed=5, input_context=ctx)))[0]
                                  for ctx in (tf.distribute.InputContext(2, i, 2)
                                              for i in range(2))])]
        self.assertAllEqual(halves[0], batches[0])
        # One pass is num_points examples.
        self.assertLen(list(data.make(16, seed=5, repeat=False)), 2)

class MetricsTest(tf.test.TestCase):

    def test_five_of_eight_modes(self):
        data = synthetic2d.EightGaussians(num_points=8)
        rng = np.random.default_rng(0)
        on_modes = np.repeat(data.centers[:5], 100, axis=0) + rng.normal(
            scale=data.std, size=(500, 2)).clip(-2 * data.std, 2 * data.std)
        m = synthetic.mode_metrics(on_modes, data.centers, data.std)
        self.assertEqual((m["modes_covered"], m["num_modes"]), (5, 8))
        self.assertEqual(m["high_quality_fraction"], 1.0)
        self.assertAllEqual(m["mode_counts"], [100] * 5 + [0] * 3)
        # 20 points far from every mode lower the quality, not the coverage.
        far = np.zeros((20, 2))
        m = synthetic.mode_metrics(np.concatenate([on_modes, far]), data.centers, data.std)
        self.assertEqual(m["modes_covered"], 5)
        self.assertAllClose(m["high_quality_fraction"], 500 / 520)
        # A mode with too few high-quality samples (< 0.8% of them) is not covered.
        few = np.concatenate([on_modes, data.centers[5:6].repeat(3, 0)])
        self.assertEqual(synthetic.mode_metrics(few, data.centers, data.std)["modes_covered"], 5)

    def test_energy_distance(self):
        x = np.random.default_rng(1).normal(size=(50, 2))
        self.assertAllClose(synthetic.energy_distance(x, x), 0.0, atol=1e-9)
        # Two point masses 3 apart: 2 * 3 - 0 - 0.
        self.assertAllClose(synthetic.energy_distance(np.zeros((4, 2)), np.full((5, 2), [3, 0])),
                            6.0)

    def test_real_coverage(self):
        reals = np.stack([np.arange(6.0), np.zeros(6)], 1)     # 0..5 on a line: 1-NN radius 1
        samples = np.array([[0.5, 0.0], [10.0, 10.0], [4.0, 0.9]])
        # (0.5, 0) is within 1 of reals 0 and 1; (4, 0.9) within 1 of real 4 only.
        self.assertAllClose(synthetic.real_coverage(samples, reals, k=1), 3 / 6)
        # k = 2: radius 2 at the ends (their 2nd neighbour), 1 inside. Covered: 0 and 1 by
        # (0.5, 0); 4 (0.9) and 5 (1.35 <= 2) by (4, 0.9); not 2 (1.5 > 1) nor 3 (1.35 > 1).
        self.assertAllClose(synthetic.real_coverage(samples, reals, k=2), 4 / 6)
        with self.assertRaisesRegex(ValueError, "more than k=5 real points"):
            synthetic.real_coverage(samples, reals[:5])

    def test_csv_from_before_a_new_metric_keeps_rows_under_their_header(self):
        path = os.path.join(self.get_temp_dir(), "old.csv")
        with open(path, "w", newline="") as f:
            f.write("step,energy_distance,scatter_png\n5,0.5,a.png\n")
        synthetic._append_row(path, {"step": 10, "energy_distance": 0.25,
                                     "real_coverage": 0.75, "scatter_png": "b.png"})
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(rows, [
            {"step": "5", "energy_distance": "0.5", "real_coverage": "", "scatter_png": "a.png"},
            {"step": "10", "energy_distance": "0.25", "real_coverage": "0.75",
             "scatter_png": "b.png"}])
        # Same columns: a plain append.
        synthetic._append_row(path, {"step": 15, "energy_distance": 0.125,
                                     "real_coverage": 1.0, "scatter_png": "c.png"})
        with open(path, newline="") as f:
            self.assertEqual([r["step"] for r in csv.DictReader(f)], ["5", "10", "15"])

    def test_scatter_colours(self):
        image = synthetic.scatter_image(np.array([[0.0, 0.0], [1.0, 1.0]]),
                                        np.array([[1.0, 1.0], [-1.0, -1.0]]), size=101,
                                        extent=1.0, marker=0)
        self.assertEqual(image.shape, (101, 101, 3))
        self.assertEqual(tuple(image[50, 50]), synthetic.BLUE)     # real at the centre
        self.assertEqual(tuple(image[0, 100]), synthetic.BLUE)     # real drawn over fake (1, 1)
        self.assertEqual(tuple(image[100, 0]), synthetic.RED)      # (-1, -1) bottom left
        self.assertEqual(tuple(image[10, 10]), (255, 255, 255))


class SyntheticRunTest(tf.test.TestCase):

    def test_unconditional_on_labelled_data(self):
        base = ["run.algorithm = @FARGAN", "run.generator = @DCGANGenerator",
                "run.discriminator = @DCGANDiscriminator", "run.data = @SyntheticImages()",
                "SyntheticImages.image_shape = (8, 8, 3)", "SyntheticImages.num_classes = 10",
                "run.train_steps = 1", "run.batch_size = 4", "run.z_dim = 8",
                "DCGANGenerator.width = 2", "DCGANDiscriminator.width = 2",
                "FARGAN.num_far = 2", "FARGAN.far_factor = 2", "FARGAN.num_fake = 4"]
        config.parse([], base)
        with self.assertRaisesRegex(ValueError, "run.unconditional = True"):
            experiment.run(self.get_temp_dir() + "/cond", setup_only=True)
        config.parse([], base + ["run.unconditional = True", "run.progress = False",
                                 "run.export_at_end = False"])
        result = experiment.run(self.get_temp_dir() + "/uncond")
        self.assertEqual(result["final_step"], 1)


class StepsPerExecutionTest(tf.test.TestCase):
    """`run.steps_per_execution = K` runs K iterations per call of the traced function: the
    update is the same as one per call, and callbacks still fire on their iterations."""

    TINY = ["run.batch_size = 8", "FARGAN.num_far = 2", "FARGAN.num_fake = 8",
            "MLPGenerator.width = 8", "MLPDiscriminator.width = 8",
            "EightGaussians.num_points = 64", "synthetic_evaluation.num_samples = 100",
            "run.progress = False", "run.export_at_end = False"]

    def _run(self, model_dir, steps, k, extra=(), strategy_fn=None):
        config.parse([os.path.join(ROOT, "gin/synthetic/fargan_8gaussians.gin")],
                     self.TINY + [f"run.train_steps = {steps}",
                                  f"run.steps_per_execution = {k}"] + list(extra))
        kwargs = {"strategy_fn": strategy_fn} if strategy_fn else {}
        return experiment.run(model_dir, **kwargs)

    def test_effective_value_divides_start_end_and_intervals(self):
        f = experiment.effective_steps_per_execution
        self.assertEqual(f(1000, 0, 200000, [10000, 1000, 5000, 0]), 1000)
        self.assertEqual(f(1000, 0, 200000, [10000, 500]), 500)
        self.assertEqual(f(100, 4737, 200000, [1000]), 1)     # resumed off the grid
        self.assertEqual(f(100, 300, 1050, [0, 0]), 50)
        self.assertEqual(f(7, 0, 12, []), 1)

    def _check_same_update(self, strategy_fn=None):
        intervals = ["run.checkpoint_every = 4", "run.summary_every = 4",
                     "synthetic_evaluation.every = 4", "run.keep_checkpoints = 5"]
        root = self.get_temp_dir()
        one = self._run(root + "/k1", 12, 1, intervals, strategy_fn)
        four = self._run(root + "/k4", 12, 4, intervals, strategy_fn)
        self.assertEqual(one["final_step"], 12)
        self.assertEqual(four["final_step"], 12)
        want, got = (checkpoint_tensors(r["checkpoint"]) for r in (one, four))
        self.assertEqual(sorted(want), sorted(got))
        for key in want:
            self.assertAllEqual(want[key], got[key], msg=key)
        # Checkpoints and evaluations land on the same iterations.
        for run_dir in (root + "/k1", root + "/k4"):
            steps = sorted(int(p.split("-")[-1].split(".")[0]) for p in
                           tf.io.gfile.glob(run_dir + "/checkpoints/ckpt-*.index"))
            self.assertEqual(steps, [4, 8, 12])
            with open(os.path.join(run_dir, synthetic.CSV_NAME)) as f:
                self.assertEqual([int(r["step"]) for r in csv.DictReader(f)], [4, 8, 12])

    def test_same_update_and_callbacks_as_one_step_per_call(self):
        self._check_same_update()

    def test_same_update_on_two_replicas(self):
        if strategies.two_cpu_mirrored() is None:
            self.skipTest("needs two logical CPUs")
        self._check_same_update(strategies.two_cpu_mirrored)

    def test_lowered_to_the_intervals_and_resumed_off_the_grid(self):
        model_dir = self.get_temp_dir() + "/lowered"
        # 5 iterations one per call, then resumed with K = 4 and checkpoints every 2: the
        # executions are lowered to gcd(4, start 5, ...) = 1 and the run still ends at 9.
        self._run(model_dir, 5, 1, ["run.checkpoint_every = 5", "synthetic_evaluation.every = 5"])
        result = self._run(model_dir, 9, 4, ["run.checkpoint_every = 2",
                                             "synthetic_evaluation.every = 0"])
        self.assertEqual(result["final_step"], 9)
        whole = self._run(self.get_temp_dir() + "/whole", 9, 1,
                          ["run.checkpoint_every = 0", "synthetic_evaluation.every = 0"])
        want = checkpoint_tensors(whole["checkpoint"])
        got = checkpoint_tensors(result["checkpoint"])
        for key in want:
            self.assertAllEqual(want[key], got[key], msg=key)

    def test_bad_value_is_one_line(self):
        config.parse([os.path.join(ROOT, "gin/synthetic/fargan_8gaussians.gin")],
                     self.TINY + ["run.train_steps = 2", "run.steps_per_execution = 0"])
        with self.assertRaisesRegex(ValueError, r"run.steps_per_execution = 0 must be"):
            experiment.run(self.get_temp_dir() + "/bad")


if __name__ == "__main__":
    tf.test.main()
