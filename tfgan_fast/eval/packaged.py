"""Evaluation assets shipped inside the package, so Fashion-MNIST runs evaluate offline.

`gin/eval/fashion_mnist.gin` binds

    SavedModelClassifier.path = @packaged_classifier_path()
    Evaluator.real_stats_path = @packaged_stats_path()

How each asset was made is in `tfgan_fast/eval/packaged/README.md` (tools/train_classifier.py and
tools/compute_fid_stats.py).
"""

import os

import gin

PACKAGED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "packaged")
_CLASSIFIERS = {"fashion_mnist": "fashion_mnist_classifier"}
_STATS = {("fashion_mnist", "train"): "fashion_mnist_train_stats.npz"}


def _existing(path, what):
    if not os.path.exists(path):
        raise FileNotFoundError(f"packaged {what} {path} is missing: reinstall tfgan_fast "
                                "(package data) or see tfgan_fast/eval/packaged/README.md")
    return path


@gin.register
def packaged_classifier_path(dataset="fashion_mnist"):
    """The SavedModel directory of the shipped classifier for `dataset`."""
    if dataset not in _CLASSIFIERS:
        raise ValueError(f"no packaged classifier for dataset {dataset!r}; have "
                         f"{sorted(_CLASSIFIERS)}")
    return _existing(os.path.join(PACKAGED_DIR, _CLASSIFIERS[dataset]), "classifier")


@gin.register
def packaged_stats_path(dataset="fashion_mnist", split="train"):
    """The shipped real statistics (`.npz`, see `stats.py`) of `dataset`/`split` under the
    shipped classifier."""
    if (dataset, split) not in _STATS:
        raise ValueError(f"no packaged statistics for {dataset!r}/{split!r}; have "
                         f"{sorted(_STATS)}")
    return _existing(os.path.join(PACKAGED_DIR, _STATS[(dataset, split)]), "statistics")
