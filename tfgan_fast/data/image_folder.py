"""Your own images: `ROOT/<class>/<image>.{png,jpg,jpeg}`, one sub-folder per class.

Labels are the class folders' positions in sorted order. Images of any size are resized so that
their shorter side is `resolution` (antialiased) and centre-cropped to `resolution x
resolution`, then scaled to [-1, 1]; `channels` 1 (grayscale) or 3 (RGB) converts every image.
Only the file list is held in memory: each batch is read and decoded from disk by `tf.data`,
along the deterministic stream of `data.stream` (exact resume, any replica count).

At start-up every file's first bytes are checked against the PNG and JPEG signatures; a file
that fails (empty, truncated to nothing, not an image) is skipped and counted, or with
`on_corrupt = 'fail'` stops the run naming its path. A file whose header is fine but whose data
is damaged fails when its batch is decoded: skipped with its batch (`'skip'`), or an error.

`split = 'train'` or `'test'` holds out a fixed `test_fraction` of each class, chosen by a hash
of each file's path inside the folder: the same files whatever the order, machine or later
additions to other classes (`tools/train_classifier.py --image_folder` trains a classifier for
evaluation on the one and tests it on the other).
"""
from __future__ import annotations

import collections
import os
import zlib

import gin
import numpy as np
import tensorflow as tf

from tfgan_fast.data import base
from tfgan_fast.data import stream
from tfgan_fast.data.base import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg")
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def _is_image_file(path):
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return any(head.startswith(s) for s in _SIGNATURES)


@gin.configurable
class ImageFolder(base.DataSource):
    """Images in class sub-folders, streamed from disk.

    Args:
        path: the root folder; each non-hidden sub-folder is a class.
        resolution: output height and width.
        channels: 1 (grayscale) or 3 (RGB).
        on_corrupt: `'skip'` (count and skip files that are not PNG/JPEG) or `'fail'`.
        name: names the data set in logs and the run's data spec.
        verbose: print the start-up summary.
        split: `'all'` (every image), `'train'` or `'test'` (the held-out `test_fraction` of
            each class, by a hash of the file's path relative to `path`).
        test_fraction: the share of each class held out as `'test'`, in (0, 1).
    """

    exact_resume = True

    def __init__(self, path=gin.REQUIRED, resolution=64, channels=3, on_corrupt="skip",
                 name=None, verbose=True, split="all", test_fraction=0.1):
        if channels not in (1, 3):
            raise ValueError(f"ImageFolder.channels must be 1 or 3, got {channels!r}")
        if on_corrupt not in ("skip", "fail"):
            raise ValueError(f"ImageFolder.on_corrupt must be 'skip' or 'fail', got "
                             f"{on_corrupt!r}")
        if not isinstance(resolution, int) or resolution < 4:
            raise ValueError(f"ImageFolder.resolution must be an integer >= 4, got "
                             f"{resolution!r}")
        if split not in ("all", "train", "test"):
            raise ValueError(f"ImageFolder.split must be 'all', 'train' or 'test', got "
                             f"{split!r}")
        if not 0 < test_fraction < 1:
            raise ValueError(f"ImageFolder.test_fraction must be in (0, 1), got "
                             f"{test_fraction!r}")
        self.split, self.test_fraction = split, float(test_fraction)
        self.path = os.path.expanduser(str(path))
        self.resolution, self.channels, self.on_corrupt = resolution, channels, on_corrupt
        self._name = name or os.path.basename(os.path.normpath(self.path))
        self._scan()
        if verbose:
            print(self.summary(), flush=True)

    def _scan(self):
        if not os.path.isdir(self.path):
            raise DataError(f"ImageFolder.path={self.path!r} is not a directory")
        try:
            classes = sorted(e.name for e in os.scandir(self.path)
                             if e.is_dir() and not e.name.startswith("."))
        except OSError as e:
            raise DataError(f"ImageFolder.path={self.path!r} cannot be read: {e}") from e
        if not classes:
            raise DataError(f"ImageFolder.path={self.path!r} has no class sub-folders "
                            "(expected ROOT/<class>/<image>.png)")
        paths, labels, corrupt = [], [], []
        for label, cls in enumerate(classes):
            folder = os.path.join(self.path, cls)
            try:
                files = sorted(e.path for e in os.scandir(folder)
                               if e.is_file() and e.name.lower().endswith(EXTENSIONS))
            except OSError as e:
                raise DataError(f"ImageFolder: class folder {folder!r} cannot be read: "
                                f"{e}") from e
            good = []
            for f in files:
                if _is_image_file(f):
                    good.append(f)
                elif self.on_corrupt == "fail":
                    raise DataError(f"ImageFolder: {f!r} is not a readable PNG or JPEG (bind "
                                    "ImageFolder.on_corrupt = 'skip' to skip such files)")
                else:
                    corrupt.append(f)
            if not good:
                raise DataError(f"ImageFolder: class folder {folder!r} has no readable "
                                f"{'/'.join(e[1:] for e in EXTENSIONS)} images")
            if self.split != "all":
                good = [f for f in good if self._held_out(f) == (self.split == "test")]
                if not good:
                    raise DataError(f"ImageFolder: class folder {folder!r} has no images in "
                                    f"its {self.split!r} split (test_fraction "
                                    f"{self.test_fraction}): it needs more images")
            paths.extend(good)
            labels.extend([label] * len(good))
        self.class_names = tuple(classes)
        self._paths = np.asarray(paths)
        self._labels = np.asarray(labels, np.int32)
        self.corrupt_files = corrupt

    def _held_out(self, file_path):
        """Whether `file_path` is in the test split: a hash of its path inside the folder."""
        relative = os.path.relpath(file_path, self.path).replace(os.sep, "/")
        return zlib.crc32(relative.encode("utf-8")) % 10000 < round(self.test_fraction * 10000)

    # --- data-source interface -------------------------------------------------------------

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def image_shape(self):
        return (self.resolution, self.resolution, self.channels)

    @property
    def num_examples(self):
        return len(self._paths)

    def preprocess_one(self, path):
        """One file -> float32 `[resolution, resolution, channels]` in [-1, 1]."""
        image = tf.io.decode_image(tf.io.read_file(path), channels=self.channels,
                                   expand_animations=False)
        image = tf.image.convert_image_dtype(image, tf.float32)  # [0, 1]
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        scale = float(self.resolution) / tf.reduce_min(shape)
        size = tf.maximum(tf.cast(tf.math.ceil(shape * scale), tf.int32), self.resolution)
        image = tf.image.resize(image, size, antialias=True)
        image = tf.image.resize_with_crop_or_pad(image, self.resolution, self.resolution)
        return tf.clip_by_value(image, 0.0, 1.0) * 2.0 - 1.0

    def _preprocess(self, paths):
        return tf.map_fn(self.preprocess_one, paths,
                         fn_output_signature=tf.TensorSpec(self.image_shape, tf.float32))

    def summary(self):
        """The start-up summary: images, classes, per-class counts, resolution, pixel range."""
        counts = collections.Counter(self._labels.tolist())
        per_class = ", ".join(f"{n} {counts[i]}" for i, n in enumerate(self.class_names))
        sample = self._preprocess(tf.constant(self._paths[:min(16, len(self._paths))]))
        lo, hi = float(tf.reduce_min(sample)), float(tf.reduce_max(sample))
        mode = "RGB" if self.channels == 3 else "grayscale"
        split = "" if self.split == "all" else f" ({self.split} split)"
        lines = [f"ImageFolder {self.path}{split}: {len(self._paths)} images in "
                 f"{self.num_classes} classes ({per_class}); {self.resolution}x"
                 f"{self.resolution} {mode}; pixels in [{lo:.2f}, {hi:.2f}] after "
                 "preprocessing (first images)."]
        if self.corrupt_files:
            shown = ", ".join(self.corrupt_files[:3])
            more = " ..." if len(self.corrupt_files) > 3 else ""
            lines.append(f"ImageFolder: skipped {len(self.corrupt_files)} file(s) that are not "
                         f"readable PNG/JPEG: {shown}{more}")
        return "\n".join(lines)

    def make(self, batch_size, seed=0, input_context=None, repeat=True, start_step=0):
        """Batches along the deterministic stream (`data.stream`), decoded from disk."""
        ds = stream.build_indexed_pipeline(
            self._paths, self._labels, num_classes=self.num_classes, source_name=self.name,
            preprocess=self._preprocess, example_shape=self.image_shape,
            batch_size=batch_size, seed=seed, input_context=input_context, repeat=repeat,
            shuffle=True, start_step=start_step)
        if self.on_corrupt == "skip":
            # A file with a valid header but damaged data drops its batch, not the run.
            ds = ds.ignore_errors()
        return ds
