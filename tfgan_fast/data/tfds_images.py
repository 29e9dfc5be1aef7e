"""TFDS image classification sets (cifar10, cifar100, ...) with an offline fail-fast path.

`tfds.load` on a machine without network retries its download for minutes before failing. Here
an unprepared data set first gets a short TCP probe of its download host, and an unreachable host
raises `DataError` at once with the way to build the data set offline (`manual_dir`).
"""
from __future__ import annotations

import os
import socket
import urllib.parse

import gin
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfgan_fast.data import base
from tfgan_fast.data import stream
from tfgan_fast.data.base import DataError

PROBE_TIMEOUT_S = 3.0
# Largest split (uint8 bytes) held in memory when `in_memory` is None: CIFAR-10/100 (150 MB)
# are, ImageNet is not. A graph constant must also stay under protobuf's 2 GB.
IN_MEMORY_BYTES = 1 << 30


def _host_reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to `url`'s host and port opens within `timeout` seconds.

    Only the TCP handshake is tried (no HTTP request), which is enough to tell "offline" from
    "online" without the multi-minute retry loop of the TFDS downloader.
    """
    parsed = urllib.parse.urlsplit(url)
    if not parsed.hostname:
        return False
    port = parsed.port or (443 if parsed.scheme in ("https", "gs") else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _download_urls(builder: tfds.core.DatasetBuilder) -> list[str]:
    """The data set's registered download URLs (from TFDS' checksum files; no network)."""
    try:
        return sorted(builder.url_infos or {})
    except Exception:  # pylint: disable=broad-except  # builders without checksum files
        return []


def _archive_names(urls: list[str]) -> list[str]:
    return [os.path.basename(urllib.parse.urlsplit(u).path) for u in urls]


@gin.configurable
class TFDSImages(base.DataSource):
    """A TFDS image classification set as `(images, labels)` batches.

    Args:
        name: TFDS name, e.g. "cifar10" or "cifar100" (whose fine `label` is used by default).
        split: TFDS split, e.g. "train" or "test".
        data_dir: TFDS data directory (None: TFDS' default, ~/tensorflow_datasets).
        manual_dir: directory holding the data set's downloaded archive (for cifar10
            `cifar-10-binary.tar.gz`); the data set is then built from it without network.
        download: download and prepare the data set if it is not prepared (after a short TCP
            probe of the download host, so that offline it fails in seconds, not minutes). When
            False the network is never used: an unprepared data set raises `DataError` at once
            unless `manual_dir` holds its archives.
        resolution: output size (square); None keeps the data set's native size.
        augment: FastGAN flip + random resized crop.
        shuffle_buffer: shuffle buffer size of the streamed (not in-memory) pipeline; an
            in-memory split is shuffled whole every epoch.
        image_key: feature holding the image.
        label_key: feature holding the label.
        in_memory: read the split into memory once and serve it along `data.stream` (a pure
            function of seed and iteration: exact resume); False streams it from TFDS' files
            (a resumed run then reshuffles from its iteration). None: in memory when the
            images have a fixed size and the split is at most 1 GB (CIFAR).

    Raises:
        DataError: the data set is not prepared and cannot be (offline, or `download=False`).
    """

    def __init__(self, name: str = "cifar10", split: str = "train", data_dir: str | None = None,
                 manual_dir: str | None = None, download: bool = True,
                 resolution: int | None = None, augment: bool = True,
                 shuffle_buffer: int = 10000, image_key: str = "image",
                 label_key: str = "label", in_memory: bool | None = None):
        self._name = name
        self._split = split
        self._augment = augment
        self._shuffle_buffer = shuffle_buffer
        self._image_key = image_key
        self._label_key = label_key
        self._builder = tfds.builder(name, data_dir=data_dir)
        self._ensure_prepared(data_dir, manual_dir, download)

        features = self._builder.info.features
        self._num_classes = int(features[label_key].num_classes)
        native = tuple(features[image_key].shape)  # e.g. (32, 32, 3); (None, None, 3) if ragged
        channels = native[-1]
        if channels is None:
            raise ValueError(f"{name}: images have an unknown number of channels")
        if resolution is None:
            if native[0] is None or native[1] is None or native[0] != native[1]:
                raise ValueError(f"{name}: images are {native}; pass TFDSImages.resolution to get "
                                 "square images of a fixed size")
            resolution = native[0]
        self._native = native
        self._image_shape = (int(resolution), int(resolution), int(channels))
        if in_memory and None in native:
            raise ValueError(f"TFDSImages.in_memory = True needs images of one size; {name} "
                             f"images are {native}")
        self._in_memory_choice = in_memory
        self._arrays = None

    def _ensure_prepared(self, data_dir, manual_dir, download) -> None:
        builder = self._builder
        if builder.is_prepared():
            return
        urls = _download_urls(builder)
        where = f"data_dir={data_dir!r} (looked in {builder.data_dir})"
        manual_hint = (f"put {' and '.join(_archive_names(urls)) or 'the downloaded archive'} "
                       f"{'(from ' + ', '.join(urls) + ') ' if urls else ''}in a directory and "
                       "pass TFDSImages.manual_dir=DIR")
        if manual_dir is not None:
            manual_dir = os.path.expanduser(manual_dir)
            # TFDS downloads whatever is not in manual_dir, with its slow retry loop offline.
            urls = [u for u, a in zip(urls, _archive_names(urls))
                    if not os.path.isfile(os.path.join(manual_dir, a))]
            if urls:
                where += (f" and manual_dir={manual_dir!r} lacks "
                          f"{', '.join(_archive_names(urls))}")
        if urls:
            if not download:
                raise DataError(f"TFDS data set {self._name!r} is not prepared in {where}, and "
                                f"download=False. To build it offline, {manual_hint}; or set "
                                "TFDSImages.download=True on a machine with network access.")
            # One probe per host: a data set with many files on one server costs one timeout.
            per_host = {urllib.parse.urlsplit(u).netloc: u for u in reversed(urls)}
            unreachable = next((u for u in per_host.values() if not _host_reachable(u)), None)
            if unreachable is not None:
                host = urllib.parse.urlsplit(unreachable).hostname
                raise DataError(
                    f"TFDS data set {self._name!r} is not prepared in {where}, and its download "
                    f"host {host} is unreachable (TCP probe, {PROBE_TIMEOUT_S:g} s). To build it "
                    f"offline, {manual_hint}. With TFDSImages.download=False an unprepared data "
                    "set fails at once instead of probing the network.")
        elif not download and manual_dir is None:
            raise DataError(f"TFDS data set {self._name!r} is not prepared in {where}, and "
                            "download=False. Prepare it with TFDSImages.download=True or "
                            "TFDSImages.manual_dir=DIR.")
        if manual_dir is None:
            builder.download_and_prepare()
            return
        config = tfds.download.DownloadConfig(manual_dir=manual_dir)
        try:
            builder.download_and_prepare(download_config=config)
        except Exception as e:  # pylint: disable=broad-except  # re-raised with the fix
            raise DataError(f"TFDS data set {self._name!r}: preparing from "
                            f"manual_dir={manual_dir!r} into {where} failed: {e}. To build it "
                            f"offline, {manual_hint} (the checksum is verified).") from e

    @property
    def in_memory(self) -> bool:
        """Whether the split is served from memory (see `in_memory` above)."""
        if self._in_memory_choice is None:
            if None in self._native:
                return False
            try:
                size = self._builder.info.splits[self._split].num_examples
            except KeyError:  # no split metadata: tfds.testing.mock_data's handful of examples
                size = 0
            return size * int(np.prod(self._native)) <= IN_MEMORY_BYTES
        return bool(self._in_memory_choice)

    @property
    def class_names(self):
        """The label names TFDS records (e.g. CIFAR-10's "airplane", ...)."""
        return tuple(self._builder.info.features[self._label_key].names)

    @property
    def exact_resume(self) -> bool:
        return self.in_memory

    def _load(self):
        """The split as numpy `(images uint8 [N, h, w, c], labels [N])`, read once."""
        if self._arrays is None:
            ds = self._builder.as_dataset(split=self._split, shuffle_files=False)
            ds = ds.map(lambda ex: (ex[self._image_key], ex[self._label_key])).batch(4096)
            chunks = list(tfds.as_numpy(ds))
            self._arrays = tuple(np.concatenate([c[i] for c in chunks]) for i in (0, 1))
        return self._arrays

    def _preprocess(self, image: tf.Tensor) -> tf.Tensor:
        """uint8 `[h, w, c]` or a batch `[B, h, w, c]` -> float32 `[(B,) H, W, C]`."""
        image = base.to_unit_range(image)
        size = self._image_shape[0]
        if self._native[0] == size and self._native[1] == size:
            return image
        if self._native[0] is None or self._native[0] != self._native[1]:
            # Non-square images: keep the central square so that resizing does not distort.
            shape = tf.shape(image)
            height, width = shape[-3], shape[-2]
            side = tf.minimum(height, width)
            image = tf.image.crop_to_bounding_box(
                image, (height - side) // 2, (width - side) // 2, side, side)
        image = tf.image.resize(image, [size, size], method="bilinear", antialias=True)
        return tf.clip_by_value(image, -1.0, 1.0)  # antialiasing kernels can overshoot slightly

    def make(self, batch_size: int, seed: int = 0,
             input_context: tf.distribute.InputContext | None = None,
             repeat: bool = True, start_step: int = 0) -> tf.data.Dataset:
        """See `DataSource.make`; `start_step` is exact in memory, a reshuffle seeded by
        `seed + start_step` when streamed."""
        if self.in_memory:
            images, labels = self._load()
            return stream.build_indexed_pipeline(
                images, labels, num_classes=self.num_classes, source_name=self.name,
                preprocess=self._preprocess, example_shape=self.image_shape,
                batch_size=batch_size, seed=seed, input_context=input_context, repeat=repeat,
                augment=self._augment, shuffle=self._shuffle_buffer > 1,
                start_step=start_step)
        seed += start_step
        ds = self._builder.as_dataset(split=self._split, shuffle_files=False)
        image_key, label_key = self._image_key, self._label_key
        ds = ds.map(lambda ex: (ex[image_key], ex[label_key]),
                    num_parallel_calls=tf.data.AUTOTUNE)
        return base.build_pipeline(
            ds, num_classes=self.num_classes, source_name=self.name, preprocess=self._preprocess,
            image_shape=self.image_shape, batch_size=batch_size, seed=seed,
            input_context=input_context, repeat=repeat, augment=self._augment,
            shuffle_buffer=self._shuffle_buffer)
