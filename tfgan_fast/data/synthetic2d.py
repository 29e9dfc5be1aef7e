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

Each source has the data-source interface of `tfgan_fast.data` with `image_shape = (2,)` and
`num_classes = 0` (labels are zeros), plus `points` `[n, 2]`, `centers` `[K, 2]` (None for the
swiss roll) and `std` for the mode metrics of `tfgan_fast.eval.synthetic`.
"""

import math

import gin
import numpy as np

from tfgan_fast.data import stream


class PointCloud:
    """A fixed, seeded set of 2-D points served as `(points [B, 2], zeros [B])` batches.

    Args:
        num_points: size of the finite training set.
        seed: NumPy seed of the set (independent of the run's seed, so every run of a config
            trains on the same points).
    """

    name = "points"

    def __init__(self, num_points=512, seed=0):
        if not isinstance(num_points, int) or num_points < 1:
            raise ValueError(f"{type(self).__name__}.num_points must be a positive integer, "
                             f"got {num_points!r}")
        self.num_points = num_points
        self.seed = int(seed)
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
        """Batches of the finite set, a fresh seeded permutation every epoch (`data.stream`).

        Returns:
            A `tf.data.Dataset` of `(float32 [batch_size, 2], int32 [batch_size] zeros)`.
        """
        return stream.build_indexed_pipeline(
            self._points, None, num_classes=0, source_name=self.name, preprocess=None,
            example_shape=(2,), batch_size=batch_size, seed=seed, input_context=input_context,
            repeat=repeat, shuffle=True, start_step=start_step)


def _mixture(rng, n, centers, std):
    centers = np.asarray(centers, np.float64)
    which = rng.integers(0, len(centers), size=n)
    return centers[which] + std * rng.standard_normal((n, 2))


@gin.configurable
class FiniteGaussian(PointCloud):
    """`num_points` samples of N(mean, std^2 I) (Tao & Wang 2020, Fig. 1)."""

    name = "gaussian"

    def __init__(self, num_points=512, seed=0, mean=(0.0, 0.0), std=1.0):
        self.std = float(std)
        self.centers = np.asarray([mean], np.float32)
        super().__init__(num_points, seed)

    def _sample(self, rng, n):
        return _mixture(rng, n, self.centers, self.std)


@gin.configurable
class EightGaussians(PointCloud):
    """8 equal Gaussians on a ring (Tao & Wang 2020, Fig. 2; radius 10/1.414, std 0.02/1.414, as
    Thanh-Tung et al. 2019)."""

    name = "8gaussians"

    def __init__(self, num_points=512, seed=0, radius=10.0 / 1.414, std=0.02 / 1.414):
        self.std = float(std)
        angles = 2.0 * math.pi * np.arange(8) / 8.0
        self.centers = (radius * np.stack([np.cos(angles), np.sin(angles)], 1)).astype(
            np.float32)
        super().__init__(num_points, seed)

    def _sample(self, rng, n):
        return _mixture(rng, n, self.centers, self.std)


@gin.configurable
class TwentyFiveGaussians(PointCloud):
    """25 equal Gaussians on a 5x5 grid (Tao & Wang 2020, Fig. 9; spacing 20/2.828, std 0.5/2.828,
    as Thanh-Tung et al. 2019)."""

    name = "25gaussians"

    def __init__(self, num_points=512, seed=0, spacing=2.0 * 10.0 / 2.828,
                 std=0.05 * 10.0 / 2.828):
        self.std = float(std)
        grid = np.arange(-2, 3, dtype=np.float64) * spacing
        self.centers = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(
            -1, 2).astype(np.float32)
        super().__init__(num_points, seed)

    def _sample(self, rng, n):
        return _mixture(rng, n, self.centers, self.std)


@gin.configurable
class SwissRoll(PointCloud):
    """Swiss roll (Tao & Wang 2020, Fig. 9): `make_swiss_roll(noise)`'s x/z coordinates * scale.

    No modes: the mode metrics are skipped, the point-cloud distance is reported.
    """

    name = "swissroll"

    def __init__(self, num_points=512, seed=0, noise=0.25, scale=10.0 / 7.5):
        self.noise = float(noise)
        self.scale = float(scale)
        super().__init__(num_points, seed)

    def _sample(self, rng, n):
        t = 1.5 * math.pi * (1.0 + 2.0 * rng.uniform(size=n))
        xz = np.stack([t * np.cos(t), t * np.sin(t)], 1)
        return (xz + self.noise * rng.standard_normal((n, 2))) * self.scale
