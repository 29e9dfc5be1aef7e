"""Fashion-MNIST from local IDX files (no network), and the small subset shipped in the package."""
from __future__ import annotations

import os

import gin
import numpy as np
import tensorflow as tf

from tfgan_fast.data import base
from tfgan_fast.data import idx
from tfgan_fast.data import stream
from tfgan_fast.data.base import DataError

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_NUM_CLASSES = 10
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
# Largest growth handled by padding instead of resizing: 28 -> 32 is the usual way to feed
# MNIST-like data to 32-px GAN architectures without blurring the digits/garments.
_MAX_PAD = 4

QUICKSTART_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quickstart")


def default_search_dirs() -> list[str]:
    """Directories searched when `data_dir` is None: Debian's package, then Keras' cache."""
    keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return ["/usr/share/datasets/fashion-mnist", os.path.join(keras_home, "datasets",
                                                              "fashion-mnist")]


def _how_to_get() -> str:
    return ("Get the files with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu; installs "
            "them in /usr/share/datasets/fashion-mnist), or run "
            "`python -c 'import keras; keras.datasets.fashion_mnist.load_data()'` once online to "
            "fill the Keras cache (~/.keras/datasets/fashion-mnist), or pass data_dir=DIR holding "
            "the four *-idx?-ubyte.gz files.")


def _describe_missing(directory: str, names: tuple[str, ...]) -> str:
    if not os.path.isdir(directory):
        return f"{directory} (no such directory)"
    missing = [n for n in names if not os.path.isfile(os.path.join(directory, n))]
    return f"{directory} (missing {', '.join(missing)})"


def _find_files(data_dir: str | None, split: str) -> tuple[str, str]:
    names = _FILES[split]
    candidates = [os.path.expanduser(data_dir)] if data_dir is not None else default_search_dirs()
    for d in candidates:
        paths = tuple(os.path.join(d, n) for n in names)
        if all(os.path.isfile(p) for p in paths):
            return paths
    tried = "; ".join(_describe_missing(d, names) for d in candidates)
    raise DataError(f"Fashion-MNIST {split} split not found. Tried: {tried}. {_how_to_get()}")


def load_fashion_mnist(data_dir: str | None, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Reads one split as numpy arrays.

    Args:
        data_dir: directory with the IDX `.gz` files, or None to search `default_search_dirs()`.
        split: "train" or "test".

    Returns:
        `(images uint8 [N, 28, 28], labels uint8 [N])`.

    Raises:
        DataError: files missing or malformed, counts disagree, or a label is not in [0, 10).
    """
    if split not in _FILES:
        raise ValueError(f"split must be one of {sorted(_FILES)}, got {split!r}")
    images_path, labels_path = _find_files(data_dir, split)
    images = idx.read_idx(images_path, expected_magic=idx.IMAGES_MAGIC)
    labels = idx.read_idx(labels_path, expected_magic=idx.LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{images_path} holds {images.shape[0]} images but {labels_path} holds "
                        f"{labels.shape[0]} labels")
    bad = labels[labels >= _NUM_CLASSES]  # uint8, so no negative labels
    if bad.size:
        raise DataError(f"{labels_path}: label {int(bad[0])} outside the range "
                        f"[0, {_NUM_CLASSES}) ({bad.size} bad labels)")
    return images, labels


def class_balanced_subset(images, labels, fraction):
    """The first `round(fraction * n_c)` examples of each class `c`, in file order (a fixed,
    class-balanced subset, for small-data experiments)."""
    keep = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        where = np.flatnonzero(labels == c)
        keep[where[:max(1, int(round(fraction * len(where))))]] = True
    return images[keep], labels[keep]


class _IDXImages(base.DataSource):
    """Grey-scale IDX image classification data held in memory (shared by the gin classes)."""

    exact_resume = True

    def __init__(self, data_dir, split, resolution, augment, shuffle, name, fraction=1.0):
        self._images, self._labels = load_fashion_mnist(data_dir, split)
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"{type(self).__name__}.fraction must lie in (0, 1], got "
                             f"{fraction!r}")
        if fraction < 1.0:
            self._images, self._labels = class_balanced_subset(self._images, self._labels,
                                                               fraction)
            name = f"{name}[{fraction:g}]"
        self._native = self._images.shape[1]
        if self._images.shape[1] != self._images.shape[2]:
            raise DataError(f"expected square images, got {self._images.shape[1:]}")
        self._resolution = int(resolution) if resolution is not None else self._native
        self._augment = augment
        self._shuffle = shuffle
        self._name = name

    @property
    def num_classes(self) -> int:
        return _NUM_CLASSES

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self._resolution, self._resolution, 1)

    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES

    @property
    def num_examples(self) -> int:
        return int(self._labels.shape[0])

    def _preprocess(self, images: tf.Tensor) -> tf.Tensor:
        """uint8 `[B, 28, 28]` -> float32 `[B, R, R, 1]` in [-1, 1]."""
        images = base.to_unit_range(images[..., tf.newaxis])
        grow = self._resolution - self._native
        if grow == 0:
            return images
        if 0 < grow <= _MAX_PAD and grow % 2 == 0:
            # -1 is the black background after scaling, so the pad is invisible.
            p = grow // 2
            return tf.pad(images, [[0, 0], [p, p], [p, p], [0, 0]], constant_values=-1.0)
        images = tf.image.resize(images, [self._resolution, self._resolution],
                                 method="bilinear", antialias=True)
        return tf.clip_by_value(images, -1.0, 1.0)  # antialiasing kernels can overshoot

    def make(self, batch_size: int, seed: int = 0,
             input_context: tf.distribute.InputContext | None = None,
             repeat: bool = True, start_step: int = 0) -> tf.data.Dataset:
        """See `DataSource.make`: a pure function of `(seed, iteration)` (`data.stream`)."""
        return stream.build_indexed_pipeline(
            self._images, self._labels, num_classes=self.num_classes, source_name=self.name,
            preprocess=self._preprocess, example_shape=self.image_shape, batch_size=batch_size,
            seed=seed, input_context=input_context, repeat=repeat, augment=self._augment,
            shuffle=self._shuffle, start_step=start_step)


@gin.configurable
class FashionMNIST(_IDXImages):
    """Fashion-MNIST (10 classes, 28x28 grey) read from local IDX `.gz` files with numpy.

    Args:
        data_dir: directory with `{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`; None searches
            /usr/share/datasets/fashion-mnist then ~/.keras/datasets/fashion-mnist.
        split: "train" (60k) or "test" (10k).
        resolution: output size; 32 pads 28 -> 32 with the background, other sizes resize.
        augment: FastGAN flip + random resized crop.
        shuffle: a fresh permutation of the whole set every epoch; False reads it in order.
        fraction: train on this fraction of the split, the first examples of each class
            (`class_balanced_subset`; e.g. 0.1 for DiffAugment's small-data setting); the
            source is then named `fashion_mnist[0.1]`.
    """

    def __init__(self, data_dir: str | None = None, split: str = "train", resolution: int = 32,
                 augment: bool = True, shuffle: bool = True, fraction: float = 1.0):
        super().__init__(data_dir, split, resolution, augment, shuffle, "fashion_mnist",
                         fraction)


@gin.configurable
class QuickstartFashionMNIST(_IDXImages):
    """The class-balanced Fashion-MNIST training subset shipped in `tfgan_fast/data/quickstart`.

    Made by `scripts/make_quickstart_data.py` (see the README there); lets examples and tests run
    with no download at all.

    Args:
        resolution: output size; 32 pads 28 -> 32 with the background, other sizes resize.
        augment: FastGAN flip + random resized crop.
        shuffle: a fresh permutation of the subset every epoch; False reads it in order.
    """

    def __init__(self, resolution: int = 32, augment: bool = True, shuffle: bool = True):
        super().__init__(QUICKSTART_DIR, "train", resolution, augment, shuffle,
                         "quickstart_fashion_mnist")
