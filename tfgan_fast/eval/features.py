"""Batched classifier outputs for generated and real images, with a progress bar.

`generated_outputs` samples `z` (and labels) batch by batch from `(seed, batch index)` so results do
not depend on the batch size's history, calls `sample_fn(z, labels)` and the classifier, and
accumulates logits and features as float32 numpy arrays (statistics are then computed in float64
by `metrics.activation_stats`). `dataset_outputs` does the same over a `tf.data` dataset.
"""

import dataclasses
import math
import sys
import time

import numpy as np
import tensorflow as tf

from tfgan_fast.algorithms.latents import normal_latents
from tfgan_fast.runtime.randomness import EVAL_LABELS as _SALT_LABELS
from tfgan_fast.runtime.randomness import EVAL_LATENTS as _SALT_LATENTS


@dataclasses.dataclass
class Outputs:
    """Classifier outputs of N images.

    Attributes:
        logits: float32 `[N, K]`.
        features: float32 `[N, F]`.
        labels: int32 `[N]` (the conditioning labels, or the data labels), or None.
    """
    logits: np.ndarray
    features: np.ndarray
    labels: np.ndarray = None

    @property
    def num_images(self):
        return int(self.features.shape[0])


class Progress:
    """A one-line progress bar on stderr: `desc [=====.....] 40/100 images, 12.3 img/s, ETA 5s`.

    On a terminal the line is redrawn in place; otherwise (logs) about 10 lines are printed.
    """

    def __init__(self, total, desc, stream=None, enabled=True):
        self.total = total
        self.desc = desc
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.time()
        self._last_decile = -1

    def update(self, done):
        if not self.enabled:
            return
        elapsed = time.time() - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        if self.total:
            frac = min(done / self.total, 1.0)
            decile = int(frac * 10)
            if not self.tty and decile == self._last_decile and done < self.total:
                return
            self._last_decile = decile
            eta = (self.total - done) / rate if rate > 0 else float("nan")
            bar = "=" * int(20 * frac) + "." * (20 - int(20 * frac))
            line = (f"{self.desc} [{bar}] {done}/{self.total} images, {rate:.1f} img/s, "
                    f"ETA {_fmt(eta)}")
        else:
            line = f"{self.desc} {done} images, {rate:.1f} img/s"
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()

    def close(self):
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _fmt(seconds):
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def _images_of(output):
    """`sample_fn` may return images or a dict with "images" (an exported serving signature)."""
    if isinstance(output, dict):
        return output["images"]
    return output


def sample_batches(sample_fn, num_samples, z_dim, num_classes, batch_size=100, seed=0,
                   truncation=1.0, latent_sampler=normal_latents, label=None,
                   latent_transform=None):
    """Yields `(images [b, H, W, C], labels int32 [b] or None)` until `num_samples` images.

    Every batch is drawn at the full `batch_size` (one traced shape for `sample_fn`); the last
    one is cut to size afterwards.

    Args:
        sample_fn: `fn(z [B, z_dim], labels int32 [B] or None) -> images` in [-1, 1] (e.g.
            `trainer.generate`), or a dict with "images".
        num_samples: number of images.
        z_dim: latent size.
        num_classes: C; 0 for unconditional generators (labels are then None).
        batch_size: images per call.
        seed: with the batch index, seeds every latent and label (stateless).
        truncation: latents are scaled by this factor (Wu et al. 2019, Fig. 3b); 0 gives `z = 0`.
        latent_sampler: `fn(shape, seed) -> z`; the trainer's own (`normal_latents`,
            `uniform_latents`).
        label: None draws labels uniformly from `[0, C)`; an int fixes every label (intra-class).
        latent_transform: optional `fn(z, labels) -> z` applied after truncation, e.g. LOGAN's
            latent optimisation steps at sampling time.
    """
    if num_samples <= 0 or batch_size <= 0:
        raise ValueError(f"num_samples and batch_size must be positive, got {num_samples}, "
                         f"{batch_size}")
    if label is not None and not 0 <= int(label) < max(num_classes, 1):
        raise ValueError(f"label {label} outside [0, {num_classes})")
    for index in range(math.ceil(num_samples / batch_size)):
        z = latent_sampler([batch_size, z_dim],
                           tf.constant([seed, index * 1000 + _SALT_LATENTS], tf.int64))
        z = tf.cast(z, tf.float32) * float(truncation)
        labels = None
        if num_classes:
            if label is None:
                labels = tf.random.stateless_uniform(
                    [batch_size], seed=tf.constant([seed, index * 1000 + _SALT_LABELS], tf.int64),
                    minval=0, maxval=num_classes, dtype=tf.int32)
            else:
                labels = tf.fill([batch_size], tf.constant(int(label), tf.int32))
        if latent_transform is not None:
            z = latent_transform(z, labels)
        images = _images_of(sample_fn(z, labels))
        take = min(batch_size, num_samples - index * batch_size)
        yield images[:take], (None if labels is None else labels[:take])


def generated_outputs(sample_fn, classifier, num_samples, z_dim, num_classes, batch_size=100,
                      seed=0, truncation=1.0, latent_sampler=normal_latents, label=None,
                      latent_transform=None, progress=True, desc="generated"):
    """Classifier outputs of `num_samples` generated images (see `sample_batches` for the args).

    Args:
        classifier: a `classifiers.Classifier`.
        progress: print a progress bar on stderr.
        desc: the progress bar's label.

    Returns:
        `Outputs` with `labels` the conditioning labels (None if unconditional).
    """
    logits, features, labels = [], [], []
    bar = Progress(num_samples, desc, enabled=progress)
    done = 0
    for images, batch_labels in sample_batches(
            sample_fn, num_samples, z_dim, num_classes, batch_size, seed, truncation,
            latent_sampler, label, latent_transform):
        lg, ft = classifier(images)
        logits.append(lg.numpy())
        features.append(ft.numpy())
        if batch_labels is not None:
            labels.append(batch_labels.numpy())
        done += int(images.shape[0])
        bar.update(done)
    bar.close()
    return Outputs(np.concatenate(logits), np.concatenate(features),
                   np.concatenate(labels) if labels else None)


def dataset_outputs(dataset, classifier, max_images=None, progress=True, desc="real",
                    total=None):
    """Classifier outputs of the images of a finite `tf.data` dataset.

    Args:
        dataset: batches of `(images, labels)` or of images, float `[B, H, W, C]` in [-1, 1].
            It must end (e.g. `make(..., repeat=False)`) unless `max_images` is set.
        classifier: a `classifiers.Classifier`.
        max_images: stop after this many images (the last batch is cut).
        progress: print a progress bar on stderr.
        desc: the progress bar's label.
        total: expected number of images, for the ETA (default `max_images`).

    Returns:
        `Outputs` (labels None if the dataset has none).
    """
    logits, features, labels = [], [], []
    bar = Progress(total or max_images, desc, enabled=progress)
    done = 0
    for batch in dataset:
        images, batch_labels = (batch if isinstance(batch, (tuple, list)) else (batch, None))
        if max_images is not None:
            take = min(int(images.shape[0]), max_images - done)
            images = images[:take]
            batch_labels = None if batch_labels is None else batch_labels[:take]
        lg, ft = classifier(images)
        logits.append(lg.numpy())
        features.append(ft.numpy())
        if batch_labels is not None:
            labels.append(np.asarray(batch_labels, np.int32))
        done += int(images.shape[0])
        bar.update(done)
        if max_images is not None and done >= max_images:
            break
    bar.close()
    if not features:
        raise ValueError("the dataset yielded no images")
    return Outputs(np.concatenate(logits), np.concatenate(features),
                   np.concatenate(labels) if labels else None)
