"""Fidelity and diversity from k-nearest-neighbour manifolds of classifier features.

FID mixes a generator's fidelity and its diversity into one number; these separate them.

* **Improved precision and recall** (Kynkäänniemi, Karras, Laine, Lehtinen, Aila, "Improved
  Precision and Recall Metric for Assessing Generative Models", NeurIPS 2019). The real manifold
  is the union of balls around every real feature with the distance to its k-th nearest real
  neighbour as radius; precision is the share of generated features inside it. Recall swaps the
  roles: the share of real features inside the generated manifold. k = 3 by default.
* **Density and coverage** (Naeem, Oh, Uh, Choi, Yoo, "Reliable Fidelity and Diversity Metrics
  for Generative Models", ICML 2020). With the real balls only (k = 5 by default): density =
  `sum_j sum_i 1[f_j in B(r_i)] / (k M)` (how many real balls hold a fake, on average, scaled so
  that matching distributions give about 1; it can exceed 1), coverage = the share of real balls
  holding at least one fake.

Distances are computed in row blocks (`block` rows at a time, float32 matrix products), so 10k x
10k features take seconds and O(block x N) memory.
"""

import inspect

import numpy as np


def _as_features(x, name):
    x = np.asarray(x, np.float32)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"{name} must be features [N, D] with N >= 1, got shape {x.shape}")
    return x


def _squared_norms(x):
    return np.einsum("ij,ij->i", x, x, dtype=np.float64).astype(np.float32)


def pairwise_distances(a, b, block=1024):
    """Yields `(start, distances [rows, len(b)])` for row blocks of `a` (Euclidean)."""
    bn = _squared_norms(b)
    for start in range(0, len(a), block):
        rows = a[start:start + block]
        d2 = _squared_norms(rows)[:, None] - 2.0 * rows @ b.T + bn[None, :]
        yield start, np.sqrt(np.maximum(d2, 0.0))


def knn_radii(features, k, block=1024):
    """Distance from each feature to its k-th nearest OTHER feature, `[N]`.

    Raises:
        ValueError: fewer than k + 1 features.
    """
    features = _as_features(features, "features")
    n = len(features)
    if not 1 <= k < n:
        raise ValueError(f"k = {k} needs at least k + 1 = {k + 1} features, got {n}")
    radii = np.empty(n, np.float32)
    for start, d in pairwise_distances(features, features, block):
        # The k-th smallest after the point itself (distance 0, the smallest).
        radii[start:start + len(d)] = np.partition(d, k, axis=1)[:, k]
    return radii


def _inside_counts(points, centres, radii, block=1024):
    """For each point, how many balls `B(centres[i], radii[i])` hold it, `[len(points)]`."""
    counts = np.empty(len(points), np.int64)
    for start, d in pairwise_distances(points, centres, block):
        counts[start:start + len(d)] = (d <= radii[None, :]).sum(axis=1)
    return counts


def precision_recall(real, fake, k=3, block=1024):
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Args:
        real: real features `[N, D]`.
        fake: generated features `[M, D]`.
        k: neighbourhood size of the manifold balls.
        block: rows per distance block.

    Returns:
        `{"precision": float, "recall": float}`, each in [0, 1].
    """
    real, fake = _as_features(real, "real"), _as_features(fake, "fake")
    precision = float(np.mean(_inside_counts(fake, real, knn_radii(real, k, block), block) > 0))
    recall = float(np.mean(_inside_counts(real, fake, knn_radii(fake, k, block), block) > 0))
    return {"precision": precision, "recall": recall}


def density_coverage(real, fake, k=5, block=1024):
    """Density and coverage (Naeem et al. 2020).

    Returns:
        `{"density": float >= 0, "coverage": float in [0, 1]}`.
    """
    real, fake = _as_features(real, "real"), _as_features(fake, "fake")
    radii = knn_radii(real, k, block)
    inside = np.zeros(len(real), bool)
    total = 0
    for start, d in pairwise_distances(fake, real, block):
        hits = d <= radii[None, :]
        total += int(hits.sum())
        inside |= hits.any(axis=0)
    return {"density": total / (k * len(fake)), "coverage": float(inside.mean())}


def per_class(metric, real, real_labels, fake, fake_labels, num_classes, **kwargs):
    """`metric` (e.g. `precision_recall`) within each class: `{class: result}`; classes with
    too few real or generated samples for the neighbourhood are left out."""
    real, fake = _as_features(real, "real"), _as_features(fake, "fake")
    real_labels, fake_labels = np.asarray(real_labels), np.asarray(fake_labels)
    k = kwargs.get("k", inspect.signature(metric).parameters["k"].default)
    out = {}
    for c in range(num_classes):
        r, f = real[real_labels == c], fake[fake_labels == c]
        if len(r) > k and len(f) > k:
            out[c] = metric(r, f, **kwargs)
    return out
