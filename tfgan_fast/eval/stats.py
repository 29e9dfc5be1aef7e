"""Real-data statistics for FID / KID, computed once per (data set, split, classifier) and cached.

A statistics record is a dict saved as `.npz` (no pickles):

    mu            float64 [F]       mean of the classifier features over the real images
    sigma         float64 [F, F]    their unbiased covariance
    kid_features  float32 [M, F]    a seeded random subset (M <= kid_rows) for KID and the
                                    manifold metrics
    kid_labels    int64 [M]         their labels, when the data has labels (per-class
                                    precision and recall)
    is_mean, is_std                 the IS of the real images themselves (a reference)
    classifier    str               the classifier's identity (see classifiers.py)
    num_images    int               images the statistics are over
    dataset, split str
    per_class     bool; if true also class_mu [C, F], class_sigma [C, F, F], class_counts [C]
                  (intra-class FID; C * F^2 * 8 bytes, 335 MB for 10 classes of 2048-d Inception)

The default cache file is `~/.cache/tfgan_fast/fid_stats/<dataset>_<split>[_n<max>][_perclass]_
<sha1(classifier identity)[:12]>.npz` (directory overridable by argument or the
`TFGAN_FAST_STATS_DIR` environment variable). Loading a record under another classifier identity
raises `StatsError`: features of two networks are not comparable.
"""

import hashlib
import os
import tempfile

import numpy as np
import tensorflow as tf

from tfgan_fast.runtime.errors import RunError
from tfgan_fast.eval import features as features_lib
from tfgan_fast.eval import metrics

FORMAT_VERSION = 1
DEFAULT_KID_ROWS = 10000
_STRING_KEYS = ("classifier", "dataset", "split")


class StatsError(RunError, ValueError):
    """A statistics file is missing, malformed, or belongs to another classifier."""


def default_cache_dir():
    """`$TFGAN_FAST_STATS_DIR`, else `~/.cache/tfgan_fast/fid_stats`."""
    return os.environ.get("TFGAN_FAST_STATS_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "tfgan_fast", "fid_stats")


def identity_hash(identity):
    return hashlib.sha1(identity.encode("utf8")).hexdigest()[:12]


def cache_path(dataset, split, classifier_identity, cache_dir=None, max_images=None,
               per_class=False):
    """The cache file of one (data set, split, classifier[, image limit, per-class]) record."""
    parts = [dataset, split]
    if max_images is not None:
        parts.append(f"n{int(max_images)}")
    if per_class:
        parts.append("perclass")
    parts.append(identity_hash(classifier_identity))
    return os.path.join(cache_dir or default_cache_dir(), "_".join(parts) + ".npz")


def stats_from_outputs(outputs, classifier_identity, dataset, split, kid_rows=DEFAULT_KID_ROWS,
                       seed=0, per_class=False, num_classes=None):
    """Builds a statistics record from classifier outputs of real images.

    Args:
        outputs: `features.Outputs` of the real images (labels needed when `per_class`).
        classifier_identity: `classifier.identity`.
        dataset, split: names recorded in the record.
        kid_rows: size of the seeded random feature subset kept for KID.
        seed: seeds the subset.
        per_class: also per-class means and covariances (intra-class FID).
        num_classes: C for `per_class` (default: max label + 1).

    Returns:
        The record (see the module docstring).
    """
    mu, sigma = metrics.activation_stats(outputs.features)
    n = outputs.num_images
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=min(kid_rows, n), replace=False))
    is_mean, is_std = metrics.inception_score(outputs.logits, splits=min(10, n))
    record = {
        "format_version": FORMAT_VERSION,
        "mu": mu, "sigma": sigma,
        "kid_features": outputs.features[rows].astype(np.float32),
        "is_mean": is_mean, "is_std": is_std,
        "classifier": classifier_identity, "num_images": n,
        "dataset": dataset, "split": split, "per_class": bool(per_class),
    }
    if outputs.labels is not None:
        record["kid_labels"] = np.asarray(outputs.labels)[rows].astype(np.int64)
    if per_class:
        if outputs.labels is None:
            raise StatsError("per-class statistics need labels; the data gave none")
        labels = np.asarray(outputs.labels)
        c = int(num_classes or labels.max() + 1)
        dim = mu.shape[0]
        class_mu = np.zeros((c, dim), np.float64)
        class_sigma = np.zeros((c, dim, dim), np.float64)
        counts = np.bincount(labels, minlength=c)[:c]
        for k in range(c):
            if counts[k] >= 2:
                class_mu[k], class_sigma[k] = metrics.activation_stats(
                    outputs.features[labels == k])
        record.update(class_mu=class_mu, class_sigma=class_sigma, class_counts=counts)
    return record


def _check_source(data_source):
    # Statistics of augmented images (crops, flips) are not the data's statistics.
    augment = getattr(data_source, "augment", getattr(data_source, "_augment", False))
    if augment:
        raise StatsError(f"data source {getattr(data_source, 'name', data_source)!r} augments "
                         "its images; build it with augment=False for real statistics")


def compute_real_stats(data_source, classifier, split_name, max_images=None, batch_size=200,
                       kid_rows=DEFAULT_KID_ROWS, seed=0, per_class=False, progress=True,
                       dataset_name=None):
    """Runs `classifier` over a data set and returns its statistics record.

    Args:
        data_source: a `tfgan_fast.data` source built with `augment=False` (every image of
            `make(..., repeat=False)` is used), or a finite `tf.data.Dataset` of
            `(images, labels)` / images.
        classifier: a `classifiers.Classifier`.
        split_name: recorded in the record and the cache file name ("train", "test").
        max_images: use at most this many images (default all).
        batch_size: images per classifier call.
        kid_rows, seed: the KID subset (see `stats_from_outputs`).
        per_class: also per-class statistics (intra-class FID).
        progress: progress bar on stderr.
        dataset_name: name for a bare `tf.data.Dataset` (default: `data_source.name`).

    Returns:
        The statistics record.
    """
    if isinstance(data_source, tf.data.Dataset):
        dataset, total, num_classes = data_source, max_images, None
        name = dataset_name or "dataset"
    else:
        _check_source(data_source)
        # Batches of one, re-batched without drop_remainder: the statistics cover every image.
        dataset = data_source.make(1, seed=seed, repeat=False).unbatch().batch(batch_size)
        name = dataset_name or data_source.name
        total = getattr(data_source, "num_examples", None)
        total = min(total, max_images) if (total and max_images) else (total or max_images)
        num_classes = getattr(data_source, "num_classes", None)
    outputs = features_lib.dataset_outputs(dataset, classifier, max_images=max_images,
                                           progress=progress, desc=f"{name}/{split_name}",
                                           total=total)
    return stats_from_outputs(outputs, classifier.identity, name, split_name, kid_rows=kid_rows,
                              seed=seed, per_class=per_class, num_classes=num_classes)


def save_stats(path, record):
    """Writes a record as a compressed `.npz` atomically (a temporary sibling, then a rename)."""
    path = os.path.abspath(os.path.expanduser(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    arrays = {k: np.asarray(v) for k, v in record.items()}
    fd, tmp = tempfile.mkstemp(prefix=".stats-", suffix=".npz", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_stats(path, classifier_identity=None):
    """Reads a record written by `save_stats`.

    Args:
        path: the `.npz` file.
        classifier_identity: when given, the record must have been made with this classifier.

    Returns:
        The record (numpy arrays; strings, numbers and flags as Python values).

    Raises:
        StatsError: the file is missing or malformed, or the classifier identity differs.
    """
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise StatsError(f"no statistics file {path!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            record = {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise StatsError(f"{path} is not a statistics file: {e}") from e
    missing = [k for k in ("mu", "sigma", "kid_features", "classifier") if k not in record]
    if missing:
        raise StatsError(f"{path} lacks {missing}; recompute it with "
                         "tools/compute_fid_stats.py")
    for k, v in list(record.items()):
        if v.ndim == 0:
            record[k] = v.item()
    for k in _STRING_KEYS:
        if k in record:
            record[k] = str(record[k])
    if classifier_identity is not None and record["classifier"] != classifier_identity:
        raise StatsError(
            f"{path} holds statistics under classifier {record['classifier']!r}, but the "
            f"evaluation uses {classifier_identity!r}: features of different networks are not "
            "comparable. Recompute the statistics with this classifier "
            "(tools/compute_fid_stats.py) or evaluate with the classifier that made them.")
    return record


def load_or_compute(data_source, classifier, split_name, cache_dir=None, path=None,
                    max_images=None, batch_size=200, kid_rows=DEFAULT_KID_ROWS, seed=0,
                    per_class=False, progress=True, dataset_name=None):
    """Loads the cached record of `(data_source, split_name, classifier)`, computing it if absent.

    Args:
        path: an explicit `.npz` path (default: `cache_path(...)` under `cache_dir`).
        Others: as `compute_real_stats`.

    Returns:
        `(record, path)`.

    Raises:
        StatsError: the cached file was made with another classifier.
    """
    name = dataset_name or getattr(data_source, "name", None) or "dataset"
    path = path or cache_path(name, split_name, classifier.identity, cache_dir, max_images,
                              per_class)
    if os.path.isfile(path):
        record = load_stats(path, classifier.identity)
        if per_class and not record.get("per_class"):
            raise StatsError(f"{path} has no per-class statistics; remove it or pass another "
                             "path")
        return record, path
    record = compute_real_stats(data_source, classifier, split_name, max_images=max_images,
                                batch_size=batch_size, kid_rows=kid_rows, seed=seed,
                                per_class=per_class, progress=progress, dataset_name=name)
    save_stats(path, record)
    return record, path


def named_data_source(name, split="train", resolution=None):
    """A non-augmenting data source from a command-line name (for `tools/`).

    Args:
        name: "fashion_mnist", "quickstart" (the shipped Fashion-MNIST subset; train only),
            "cifar10", "cifar100", or another TFDS image classification set.
        split: "train" / "test".
        resolution: output size (default: 32 for the Fashion-MNIST sets, native for TFDS).
    """
    from tfgan_fast import data  # pylint: disable=import-outside-toplevel  # TFDS import is slow
    if name in ("quickstart", "quickstart_fashion_mnist"):
        if split != "train":
            raise ValueError("the quickstart subset has only a train split")
        return data.QuickstartFashionMNIST(resolution=resolution or 32, augment=False,
                                           shuffle=False)
    if name == "fashion_mnist":
        return data.FashionMNIST(split=split, resolution=resolution or 32, augment=False,
                                 shuffle=False)
    return data.TFDSImages(name=name, split=split, resolution=resolution, augment=False,
                           shuffle_buffer=0)
