"""The finite 2-D sets of Tao & Wang 2020, §6.1 / App. E: a Gaussian, 8 and 25 Gaussians, a roll.

The point of these sets is that they are FINITE: `num_points` samples are drawn once from a seeded
NumPy generator when the source is built, and training cycles through exactly those points (Tao &
Wang 2020, §4: with finite samples the discriminator overfits them and the generator collapses onto
"overfitting sources"). The geometry follows the toy sets of Thanh-Tung et al. 2019 (whose MLPs
and settings Tao & Wang 2020 reuses) at its code's default data scale 10: 8
Gaussians of std 0.02/1.414 on a ring of radius 10/1.414; 25 Gaussians of std 0.5/2.828 on the grid
{-2, ..., 2} * 20/2.828; swiss roll (`sklearn.datasets.make_swiss_roll(noise=0.25)`, coordinates x
and z) * 10/7.5. Tao & Wang 2020 gives neither the set sizes nor the single Gaussian's parameters:
`num_points = 512` and N(0, I) are our choices (bindable).

`fresh=True` turns a set into the infinite distribution it was drawn from, as the toy sets of
Thanh-Tung et al. 2019's code are: every batch is a new sample (a pure function of the data seed,
the run's seed and the iteration, so a resumed run reads what the uninterrupted one would have),
and `points` is then only the reference sample the metrics compare against.

Each source has the data-source interface of `tfgan_fast.data` with `image_shape = (2,)` and
`num_classes = 0` (labels are zeros), plus `points` `[n, 2]`, `centers` `[K, 2]` (None for the
swiss roll) and `std` for the mode metrics of `tfgan_fast.eval.synthetic`.
"""

import math

import gin
import numpy as np
import tensorflow as tf

from tfgan_fast.data import base
from tfgan_fast.data import stream


class PointCloud(base.DataSource):
    """A fixed, seeded set of 2-D points served as `(points [B, 2], zeros [B])` batches.

    Args:
        num_points: size of the finite training set.
        seed: NumPy seed of the set (independent of the run's seed, so every run of a config
            trains on the same points).
        fresh: train on a new sample of the distribution every batch instead of the finite set
            (which stays the metrics' reference sample).
    """

    name = "points"

    def __init__(self, num_points=512, seed=0, fresh=False):
        if not isinstance(num_points, int) or num_points < 1:
            raise ValueError(f"{type(self).__name__}.num_points must be a positive integer, "
                             f"got {num_points!r}")
        self.num_points = num_points
        self.seed = int(seed)
        self.fresh = bool(fresh)
        rng = np.random.default_rng(self.seed)
        self._points = np.asarray(self._sample(rng, num_points), np.float32)
        if self._points.shape != (num_points, 2):
            raise AssertionError(f"{self.name} sampled {self._points.shape}")

    def _sample(self, rng, n):
        raise NotImplementedError

    # --- data-source interface -------------------------------------------------------------

    @property
    def num_classes(self):
        return 0

    @property
    def image_shape(self):
        return (2,)

    @property
    def points(self):
        """The finite training set, float32 `[num_points, 2]` (a copy)."""
        return self._points.copy()

    centers = None
    std = None

    exact_resume = True

    def make(self, batch_size, seed=0, input_context=None, repeat=True, start_step=0):
        """Batches of the finite set, a fresh seeded permutation every epoch (`data.stream`), or
        with `fresh` new samples of the distribution.

        Returns:
            A `tf.data.Dataset` of `(float32 [batch_size, 2], int32 [batch_size] zeros)`.
        """
        if self.fresh:
            return self._fresh_stream(batch_size, seed, input_context, repeat, start_step)
        return stream.build_indexed_pipeline(
            self._points, None, num_classes=0, source_name=self.name, preprocess=None,
            example_shape=(2,), batch_size=batch_size, seed=seed, input_context=input_context,
            repeat=repeat, shuffle=True, start_step=start_step)


    def _fresh_stream(self, batch_size, seed, input_context, repeat, start_step):
        """New samples every iteration: iteration t's global batch is `_sample` seeded by
        `(set seed, run seed, t)`, and each replica takes its rows of it (so the stream does
        not depend on the replica count). One pass (`repeat=False`) is `num_points` examples."""
        per_pipeline, first_replica, replicas = stream.pipeline_layout(input_context)
        global_batch = batch_size * replicas
        if start_step < 0:
            raise ValueError(f"start_step must be >= 0, got {start_step}")
        if repeat:
            first, last = start_step * per_pipeline, stream._END
        else:
            first, last = 0, (self.num_points // global_batch) * per_pipeline

        def sample(iteration, row):
            rng = np.random.default_rng([self.seed, int(seed), int(iteration)])
            points = np.asarray(self._sample(rng, global_batch), np.float32)
            return points[int(row):int(row) + batch_size]

        def fetch(element):
            iteration = element // per_pipeline
            row = (first_replica + element % per_pipeline) * batch_size
            points = tf.numpy_function(sample, [iteration, row], tf.float32, stateful=False)
            return (tf.ensure_shape(points, (batch_size, 2)),
                    tf.zeros([batch_size], tf.int32))

        ds = tf.data.Dataset.range(first, last).map(fetch, num_parallel_calls=tf.data.AUTOTUNE)
        options = tf.data.Options()
        options.deterministic = True
        return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def _mixture(rng, n, centers, std):
    centers = np.asarray(centers, np.float64)
    which = rng.integers(0, len(centers), size=n)
    return centers[which] + std * rng.standard_normal((n, 2))


@gin.configurable
class FiniteGaussian(PointCloud):
    """`num_points` samples of N(mean, std^2 I) (Tao & Wang 2020, Fig. 1)."""

    name = "gaussian"

    def __init__(self, num_points=512, seed=0, mean=(0.0, 0.0), std=1.0, fresh=False):
        self.std = float(std)
        self.centers = np.asarray([mean], np.float32)
        super().__init__(num_points, seed, fresh)

    def _sample(self, rng, n):
        return _mixture(rng, n, self.centers, self.std)


@gin.configurable
class EightGaussians(PointCloud):
    """8 equal Gaussians on a ring (Tao & Wang 2020, Fig. 2; radius 10/1.414, std 0.02/1.414, as
    Thanh-Tung et al. 2019)."""

    name = "8gaussians"

    def __init__(self, num_points=512, seed=0, radius=10.0 / 1.414, std=0.02 / 1.414,
                 fresh=False):
        self.std = float(std)
        angles = 2.0 * math.pi * np.arange(8) / 8.0
        self.centers = (radius * np.stack([np.cos(angles), np.sin(angles)], 1)).astype(
            np.float32)
        super().__init__(num_points, seed, fresh)

    def _sample(self, rng, n):
        return _mixture(rng, n, self.centers, self.std)


@gin.configurable
class TwentyFiveGaussians(PointCloud):
    """25 equal Gaussians on a 5x5 grid (Tao & Wang 2020, Fig. 9; spacing 20/2.828, std 0.5/2.828,
    as Thanh-Tung et al. 2019)."""

    name = "25gaussians"

    def __init__(self, num_points=512, seed=0, spacing=2.0 * 10.0 / 2.828,
                 std=0.05 * 10.0 / 2.828, fresh=False):
        self.std = float(std)
        grid = np.arange(-2, 3, dtype=np.float64) * spacing
        self.centers = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(
            -1, 2).astype(np.float32)
        super().__init__(num_points, seed, fresh)

    def _sample(self, rng, n):
        return _mixture(rng, n, self.centers, self.std)


@gin.configurable
class SwissRoll(PointCloud):
    """Swiss roll (Tao & Wang 2020, Fig. 9): `make_swiss_roll(noise)`'s x/z coordinates * scale.

    No modes: the mode metrics are skipped, the point-cloud distance is reported.
    """

    name = "swissroll"

    def __init__(self, num_points=512, seed=0, noise=0.25, scale=10.0 / 7.5, fresh=False):
        self.noise = float(noise)
        self.scale = float(scale)
        super().__init__(num_points, seed, fresh)

    def _sample(self, rng, n):
        t = 1.5 * math.pi * (1.0 + 2.0 * rng.uniform(size=n))
        xz = np.stack([t * np.cos(t), t * np.sin(t)], 1)
        return (xz + self.noise * rng.standard_normal((n, 2))) * self.scale
