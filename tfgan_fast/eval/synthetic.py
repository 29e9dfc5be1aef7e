"""Metrics and scatter plots for the 2-D synthetic sets (Tao & Wang 2020, §6.1, Fig. 1-2, App. E).

- `mode_metrics`: a sample is *high quality* when it lies within `threshold` (3) standard
  deviations of its nearest mode centre; a mode is *covered* when at least
  `max(1, min_fraction * num_samples)` high-quality samples are nearest to it (PacGAN's rule:
  20 of 2,500 samples, `min_fraction = 0.008`; VEEGAN / Unrolled-GAN count modes and
  high-quality samples the same way).
- `energy_distance`: `2 E|X - Y| - E|X - X'| - E|Y - Y'|` between the generated and the real
  point clouds (zero iff the distributions agree; V-statistics, so it is never negative).
- `real_coverage`: the fraction of the finite real samples with a generated sample inside their
  k-nearest-neighbour ball among the reals ("coverage" of Naeem, Oh, Uh, Choi, Yoo, "Reliable
  Fidelity and Diversity Metrics for Generative Models", ICML 2020, k = 5). It measures Tao &
  Wang 2020's "fits all the real samples" (Fig. 1): 1 when every real point has generated
  points near it, low when G collapses onto a few of them.
- `scatter_image`: real points blue, generated red (as Tao & Wang 2020, Fig. 1), drawn by NumPy
  rasterisation and `tf.io.encode_png` (no matplotlib).
- `SyntheticEvaluationCallback` (built by the gin factory `synthetic_evaluation`, bound as
  `run.callbacks = [@synthetic_evaluation]`): every `every` iterations and at the end it samples
  the generator with fixed latents, appends the metrics to `DIR/synthetic_metrics.csv`, writes
  the scalars and the plot to TensorBoard (`DIR/eval`), the plot to
  `DIR/scatter/step_<iteration>.png` and the generated points to `.../step_<iteration>.npy`
  (for `tools/synthetic_figures.py`). A resumed run drops the CSV rows after its checkpoint.
"""

import csv
import os

import gin
import keras
import numpy as np
import tensorflow as tf

from tfgan_fast.eval import manifold

BLUE = (31, 119, 180)
RED = (214, 39, 40)
CSV_NAME = "synthetic_metrics.csv"
SCATTER_SUBDIR = "scatter"


def mode_metrics(samples, centers, std, threshold=3.0, min_fraction=0.008):
    """Modes covered and fraction of high-quality samples.

    Args:
        samples: `[n, 2]` generated points.
        centers: `[K, 2]` mode centres.
        std: the modes' standard deviation.
        threshold: high quality = within `threshold * std` of the nearest centre.
        min_fraction: a mode is covered with at least `max(1, min_fraction * n)` high-quality
            samples.

    Returns:
        dict: `modes_covered` (int), `num_modes`, `high_quality_fraction` in [0, 1],
        `mode_counts` (int array `[K]` of high-quality samples per mode).
    """
    samples = np.asarray(samples, np.float64)
    centers = np.asarray(centers, np.float64)
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(f"samples {samples.shape} and centers {centers.shape} must be [n, d] "
                         "and [K, d]")
    if std <= 0:
        raise ValueError(f"std must be > 0, got {std}")
    d2 = ((samples[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    good = np.sqrt(d2[np.arange(len(samples)), nearest]) <= threshold * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    need = max(1.0, min_fraction * len(samples))
    return {"modes_covered": int((counts >= need).sum()), "num_modes": int(len(centers)),
            "high_quality_fraction": float(good.mean()) if len(samples) else 0.0,
            "mode_counts": counts}


def _mean_pairwise_distance(a, b, chunk=1024):
    total = 0.0
    for i in range(0, len(a), chunk):
        d = np.sqrt(((a[i:i + chunk, None, :] - b[None, :, :]) ** 2).sum(-1))
        total += d.sum()
    return total / (len(a) * len(b))


def energy_distance(x, y):
    """Energy distance `2 E|X-Y| - E|X-X'| - E|Y-Y'|` (V-statistic, >= 0) of `[n, d]`, `[m, d]`."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    return float(2.0 * _mean_pairwise_distance(x, y) - _mean_pairwise_distance(x, x)
                 - _mean_pairwise_distance(y, y))


def real_coverage(samples, reals, k=5):
    """Fraction of `reals` `[n, 2]` whose k-NN ball among the reals holds a sample (Naeem et
    al. 2020's coverage; the ball's radius is the distance to the k-th nearest other real)."""
    if len(reals) <= k:
        raise ValueError(f"real_coverage needs more than k={k} real points, got {len(reals)}")
    return manifold.density_coverage(reals, samples, k=k)["coverage"]


def scatter_image(real, fake, size=400, extent=None, marker=1):
    """Rasterised scatter plot, uint8 `[size, size, 3]`: white, fake red, real blue on top.

    The real points are drawn last so that small, tight modes (the 8 Gaussians have std
    0.014) stay visible under a cloud of generated points.

    Args:
        real, fake: `[n, 2]` points.
        size: image side in pixels.
        extent: half-width of the square window centred at 0; default 1.25 * the largest
            absolute real coordinate. Points outside are clipped to the border.
        marker: half-size of each point's square in pixels.
    """
    real = np.asarray(real, np.float64)
    fake = np.asarray(fake, np.float64)
    if extent is None:
        extent = 1.25 * float(np.abs(real).max()) if len(real) else 1.0
    image = np.full((size, size, 3), 255, np.uint8)

    def draw(points, color):
        if not len(points):
            return
        col = np.clip(np.round((points[:, 0] + extent) / (2 * extent) * (size - 1)), 0,
                      size - 1).astype(int)
        row = np.clip(np.round((extent - points[:, 1]) / (2 * extent) * (size - 1)), 0,
                      size - 1).astype(int)
        for dr in range(-marker, marker + 1):
            for dc in range(-marker, marker + 1):
                image[np.clip(row + dr, 0, size - 1), np.clip(col + dc, 0, size - 1)] = color

    draw(fake, RED)
    draw(real, BLUE)
    return image


def evaluate_points(samples, data):
    """All metrics of `samples` `[n, 2]` against a `synthetic2d` source `data`."""
    result = {"energy_distance": energy_distance(samples, data.points),
              "real_coverage": real_coverage(samples, data.points)}
    if data.centers is not None:
        modes = mode_metrics(samples, data.centers, data.std)
        result.update({k: modes[k] for k in ("modes_covered", "num_modes",
                                             "high_quality_fraction")})
    return result


def _append_row(path, row):
    """Appends `row` (a dict) to the CSV at `path`, columns `step` then sorted names.

    A file written before a metric was added (a run resumed with a newer tfgan_fast) is
    rewritten with the new columns first, its rows' new cells left empty, so that every row
    stays under its header.
    """
    keys = ["step"] + sorted(k for k in row if k != "step")
    old_rows, old_keys = [], None
    if os.path.isfile(path):
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            old_keys = reader.fieldnames
            if old_keys != keys:
                old_rows = list(reader)
    if old_keys is not None and old_keys != keys:
        keys += [k for k in old_keys if k not in keys]
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, keys, restval="")
            writer.writeheader()
            writer.writerows(old_rows)
    with open(path, "a", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, keys, restval="")
        if old_keys is None:
            writer.writeheader()
        writer.writerow(row)


class SyntheticEvaluationCallback(keras.callbacks.Callback):
    """Periodic 2-D metrics and scatter plots (see the module docstring).

    Args:
        data: a `synthetic2d` source (`points`, `centers`, `std`).
        sample_fn: `fn(z) -> [n, 2]`.
        z: fixed latents `[num_samples, z_dim]`.
        model_dir: the run directory.
        every: iterations between evaluations (0: only at the end).
    """

    def __init__(self, data, sample_fn, z, model_dir, every):
        super().__init__()
        self.data = data
        self.sample_fn = sample_fn
        self.z = z
        self.model_dir = model_dir
        self.every = int(every)
        self.writer = None
        self.last_step = None
        self.last_result = None

    def on_train_begin(self, logs=None):
        self.writer = tf.summary.create_file_writer(os.path.join(self.model_dir, "eval"))
        directory = os.path.join(self.model_dir, SCATTER_SUBDIR)
        os.makedirs(directory, exist_ok=True)
        np.save(os.path.join(directory, "real.npy"), self.data.points.astype(np.float32))
        # A resumed run re-evaluates the iterations after its checkpoint: drop their rows.
        path = os.path.join(self.model_dir, CSV_NAME)
        if os.path.isfile(path):
            step = int(self.model.iteration.numpy())
            with open(path, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))
            kept = rows[:1] + [r for r in rows[1:] if r and int(r[0]) <= step]
            if len(kept) != len(rows):
                with open(path, "w", newline="", encoding="utf-8") as f:
                    csv.writer(f).writerows(kept)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.iteration.numpy())
        if self.every > 0 and step % self.every == 0:
            self.evaluate(step)

    def on_train_end(self, logs=None):
        step = int(self.model.iteration.numpy())
        if step != self.last_step:
            self.evaluate(step)

    def evaluate(self, step):
        samples = np.asarray(self.sample_fn(self.z))
        result = evaluate_points(samples, self.data)
        image = scatter_image(self.data.points, samples)
        directory = os.path.join(self.model_dir, SCATTER_SUBDIR)
        os.makedirs(directory, exist_ok=True)
        png = os.path.join(directory, f"step_{step:08d}.png")
        tf.io.write_file(png, tf.io.encode_png(image))
        np.save(os.path.join(directory, f"step_{step:08d}.npy"), samples.astype(np.float32))
        result["scatter_png"] = png
        if self.writer is None:
            self.on_train_begin()
        with self.writer.as_default(step=step):
            for key, value in result.items():
                if key not in ("scatter_png", "num_modes"):
                    tf.summary.scalar(f"synthetic/{key}", value)
            tf.summary.image("synthetic/scatter", image[None], max_outputs=1)
        self.writer.flush()
        _append_row(os.path.join(self.model_dir, CSV_NAME), dict(result, step=step))
        summary = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in result.items() if k != "scatter_png")
        print(f"synthetic evaluation at iteration {step}: {summary}; {png}", flush=True)
        self.last_step = step
        self.last_result = result
        return result


@gin.configurable(denylist=["experiment"])
def synthetic_evaluation(experiment, every=1000, num_samples=2500, seed=1234):
    """Gin factory of `SyntheticEvaluationCallback` for `run.callbacks`.

    Args:
        experiment: the `experiment.Experiment` being trained (passed by `run`).
        every: iterations between evaluations.
        num_samples: generated points per evaluation (2,500 as PacGAN / VEEGAN).
        seed: of the fixed evaluation latents.
    """
    trainer = experiment.trainer
    if not hasattr(experiment.data, "points"):
        raise ValueError(f"synthetic_evaluation needs a 2-D synthetic data source, got "
                         f"{type(experiment.data).__name__}")
    z = trainer.latent_sampler([num_samples, trainer.z_dim], tf.constant([seed, 0], tf.int64))
    generate = tf.function(lambda z: trainer.generate(z, None))
    return SyntheticEvaluationCallback(experiment.data, generate, z, experiment.model_dir,
                                       every)
