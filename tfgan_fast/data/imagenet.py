"""ImageNet (TFDS `imagenet2012`) and its class subsets, e.g. SNGAN's ImageNet-143, at 64 / 128 px.

`imagenet2012` cannot be downloaded by TFDS: the two ILSVRC2012 archives come from
https://image-net.org/download-images after registration and are then built into a TFDS data set
once (hours, ~150 GB of archives). An unprepared data set without those archives raises
`DataError` at once, naming the files and where to put them; nothing touches the network.
"""
from __future__ import annotations

import os

import gin
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfgan_fast.data import augment as augment_lib
from tfgan_fast.data import base
from tfgan_fast.data import tfds_images
from tfgan_fast.data.base import DataError

TFDS_NAME = "imagenet2012"
NUM_IMAGENET_CLASSES = 1000
CLASS_LIST_143 = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "imagenet143_classes.txt")
_CROPS = ("center", "random")
# The two archives TFDS' imagenet2012 builder reads from its manual_dir (its checksums.tsv).
_DEFAULT_ARCHIVES = ("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar")


def read_class_list(path: str) -> list[int]:
    """Reads the first column (original label indices) of a class list; `#` starts a comment."""
    ids = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                ids.append(int(line.split()[0]))
    return ids


@gin.register
def imagenet143_class_ids() -> list[int]:
    """ImageNet-143 ("dog and cat"): TFDS imagenet2012 labels 151..293, in that order.

    SNGAN's `datasets/imagenet_dog_and_cat.py` (`np.arange(151, 294)`), used by SNGAN, RobGAN and
    FastGAN (Zhong et al. 2020, App. B.2; 180,373 training images). Read from the shipped
    `imagenet143_classes.txt`, which also records each class' WordNet id.
    """
    return read_class_list(CLASS_LIST_143)


def _check_class_ids(class_ids) -> tuple[int, ...] | None:
    if class_ids is None:
        return None
    if isinstance(class_ids, (str, bytes)) or not hasattr(class_ids, "__iter__"):
        raise ValueError(f"ImageNet: class_ids must be None or a list of label indices, got "
                         f"{class_ids!r}.")
    ids = tuple(class_ids)
    if not ids:
        raise ValueError("ImageNet: class_ids=[] selects no class; pass None for all 1000.")
    for value in ids:
        if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                or not 0 <= value < NUM_IMAGENET_CLASSES):
            raise ValueError(f"ImageNet: class_ids holds {value!r}; every id must be an int in "
                             f"[0, {NUM_IMAGENET_CLASSES}).")
    seen = set()
    for value in ids:
        if value in seen:
            raise ValueError(f"ImageNet: class_ids holds {int(value)} more than once.")
        seen.add(value)
    return tuple(int(v) for v in ids)


def default_manual_dir(data_dir: str | None) -> str:
    """TFDS' default manual directory: `<data_dir>/downloads/manual`."""
    root = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
    return os.path.join(os.path.expanduser(root), "downloads", "manual")


@gin.configurable
class ImageNet(base.DataSource):
    """ImageNet-1k (TFDS `imagenet2012`), or a subset of its classes, as square image batches.

    Preprocessing (Zhong et al. 2020, App. B.2), from the decoded JPEG of any size:
      * `crop="center"`: resize (bilinear, antialiased) so that the shorter side is `resolution`
        and keep the central `resolution` square. With `augment=True` the FastGAN flip + random
        resized crop of `data/augment.py` is then applied to that square (as for CIFAR).
      * `crop="random"` (needs `augment=True`): resize the shorter side to `resolution`, then
        FastGAN's random resized crop (area 0.8-1.0, aspect 3/4-4/3, torchvision semantics) of
        the whole image plus a random horizontal flip, resized to `resolution` square. Each crop
        is keyed by (seed, example position in the repeated stream): reproducible, new each
        epoch.
    Pixels are scaled to [-1, 1].

    Args:
        resolution: output height and width (e.g. 64 or 128).
        class_ids: None for all 1000 classes, or original label indices (0..999, no repeats) to
            keep; their labels are remapped to 0..len-1 in the given order (e.g.
            `@imagenet143_class_ids()`).
        split: TFDS split, "train" or "validation".
        data_dir: TFDS data directory (None: TFDS' default, ~/tensorflow_datasets).
        manual_dir: directory holding `ILSVRC2012_img_train.tar` and `ILSVRC2012_img_val.tar`
            (None: `<data_dir>/downloads/manual`); used only when the data set is not prepared.
        augment: random augmentation (see above); False gives deterministic centre crops.
        crop: "center" or "random" (see above).
        shuffle_buffer: shuffle buffer size, in examples (JPEG bytes; 0 disables shuffling).

    Raises:
        DataError: imagenet2012 is not prepared and its manual archives are missing, or
            building it from them failed.
        ValueError: bad `class_ids`, `crop` or `resolution`, or `crop="random"` with
            `augment=False`.
    """

    def __init__(self, resolution: int = 128, class_ids=None, split: str = "train",
                 data_dir: str | None = None, manual_dir: str | None = None,
                 augment: bool = True, crop: str = "random", shuffle_buffer: int = 10000):
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
            raise ValueError(f"ImageNet: resolution must be a positive int, got {resolution!r}.")
        if crop not in _CROPS:
            raise ValueError(f"ImageNet: crop must be one of {_CROPS}, got {crop!r}.")
        if crop == "random" and not augment:
            raise ValueError("ImageNet: crop='random' is an augmentation; with augment=False use "
                             "crop='center' (deterministic centre crops).")
        self._class_ids = _check_class_ids(class_ids)
        self._resolution = resolution
        self._split = split
        self._augment = augment
        self._crop = crop
        self._shuffle_buffer = shuffle_buffer
        self._builder = tfds.builder(TFDS_NAME, data_dir=data_dir)
        self._ensure_prepared(data_dir, manual_dir)
        native_classes = int(self._builder.info.features["label"].num_classes)
        if native_classes != NUM_IMAGENET_CLASSES:
            raise DataError(f"{TFDS_NAME} reports {native_classes} classes, expected "
                            f"{NUM_IMAGENET_CLASSES}.")

    def _ensure_prepared(self, data_dir, manual_dir) -> None:
        builder = self._builder
        if builder.is_prepared():
            return
        manual = os.path.expanduser(manual_dir) if manual_dir else default_manual_dir(data_dir)
        archives = tfds_images._archive_names(tfds_images._download_urls(builder))
        archives = [a for a in archives if a in _DEFAULT_ARCHIVES] or list(_DEFAULT_ARCHIVES)
        missing = [a for a in archives if not os.path.isfile(os.path.join(manual, a))]
        if missing:
            raise DataError(
                f"TFDS data set {TFDS_NAME!r} is not prepared in data_dir={data_dir!r} (looked in "
                f"{builder.data_dir}) and needs a manual download, which TFDS cannot do: register "
                f"at https://image-net.org/download-images, download {' and '.join(archives)} "
                f"and put them in {manual}/ (missing: {', '.join(missing)}), or put them in any "
                "directory DIR and pass ImageNet.manual_dir=DIR (gin) / "
                "tfds.download.DownloadConfig(manual_dir=DIR). The first run then builds the "
                "TFDS data set from them (several hours, ~300 GB of disk).")
        config = tfds.download.DownloadConfig(manual_dir=manual)
        try:
            builder.download_and_prepare(download_config=config)
        except Exception as e:  # pylint: disable=broad-except  # re-raised with the fix
            raise DataError(f"TFDS data set {TFDS_NAME!r}: preparing from manual_dir={manual!r} "
                            f"into {builder.data_dir} failed: {e}. It needs the original "
                            f"{' and '.join(archives)} (the checksums are verified).") from e

    @property
    def num_classes(self) -> int:
        return NUM_IMAGENET_CLASSES if self._class_ids is None else len(self._class_ids)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self._resolution, self._resolution, 3)

    @property
    def class_ids(self) -> tuple[int, ...] | None:
        """The kept original label indices (output label i is `class_ids[i]`), or None."""
        return self._class_ids

    @property
    def name(self) -> str:
        if self._class_ids is None:
            return TFDS_NAME
        if list(self._class_ids) == imagenet143_class_ids():
            return "imagenet143"
        return f"{TFDS_NAME}_{len(self._class_ids)}classes"

    def _decode_and_resize(self, encoded: tf.Tensor) -> tf.Tensor:
        """JPEG bytes -> float32 `[h, w, 3]` in [-1, 1] with the shorter side `resolution`."""
        image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        image = base.to_unit_range(image)
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        scale = self._resolution / tf.reduce_min(shape)
        size = tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), self._resolution)
        image = tf.image.resize(image, size, method="bilinear", antialias=True)
        return tf.clip_by_value(image, -1.0, 1.0)  # antialiasing kernels can overshoot slightly

    def _center_crop(self, encoded: tf.Tensor) -> tf.Tensor:
        image = self._decode_and_resize(encoded)
        shape = tf.shape(image)
        size = self._resolution
        return tf.image.crop_to_bounding_box(image, (shape[0] - size) // 2,
                                             (shape[1] - size) // 2, size, size)

    def _random_crop(self, encoded_and_key) -> tf.Tensor:
        encoded, key = encoded_and_key
        image = self._decode_and_resize(encoded)
        return augment_lib.random_flip_and_resized_crop(
            image, key, output_size=(self._resolution, self._resolution))

    def _examples(self) -> tf.data.Dataset:
        """`(JPEG bytes, label)` of the kept classes, labels remapped; decoding comes later."""
        ds = self._builder.as_dataset(split=self._split, shuffle_files=False,
                                      decoders={"image": tfds.decode.SkipDecoding()})
        ds = ds.map(lambda ex: (ex["image"], ex["label"]), num_parallel_calls=tf.data.AUTOTUNE)
        if self._class_ids is None:
            return ds
        remap = np.full([NUM_IMAGENET_CLASSES], -1, np.int64)
        remap[list(self._class_ids)] = np.arange(len(self._class_ids))
        remap = tf.constant(remap)
        ds = ds.filter(lambda image, label: tf.gather(remap, label) >= 0)
        return ds.map(lambda image, label: (image, tf.gather(remap, label)),
                      num_parallel_calls=tf.data.AUTOTUNE)

    # Streamed from TFDS' TFRecord files, which have no random access: a resumed run reshuffles
    # from its iteration (`seed + start_step`) instead of continuing the exact stream.
    exact_resume = False

    def make(self, batch_size: int, seed: int = 0,
             input_context: tf.distribute.InputContext | None = None,
             repeat: bool = True, start_step: int = 0) -> tf.data.Dataset:
        """See `DataSource.make`; streamed: `start_step` reseeds the shuffle (`seed +
        start_step`) so that a resumed run does not replay the batches it has seen."""
        seed += start_step
        ds = self._examples()
        common = dict(num_classes=self.num_classes, source_name=self.name,
                      image_shape=self.image_shape, batch_size=batch_size, seed=seed,
                      input_context=input_context, shuffle_buffer=self._shuffle_buffer)
        if self._crop == "center":
            return base.build_pipeline(ds, preprocess=self._center_crop, repeat=repeat,
                                       augment=self._augment, **common)
        # A per-example crop needs a per-example key that changes every epoch, so the examples
        # are numbered after build_pipeline's shard -> shuffle -> repeat, done here in the same
        # order; the key folds in (seed, input pipeline, position in this pipeline's stream).
        pipeline_id = 0
        if input_context is not None and input_context.num_input_pipelines > 1:
            ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
            pipeline_id = input_context.input_pipeline_id
        if self._shuffle_buffer and self._shuffle_buffer > 1:
            ds = ds.shuffle(self._shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        base_key = tf.constant([seed, pipeline_id], tf.int64)
        ds = ds.enumerate().map(
            lambda i, ex: ((ex[0], tf.random.experimental.stateless_fold_in(base_key, i)), ex[1]),
            num_parallel_calls=tf.data.AUTOTUNE)
        common.update(input_context=None, shuffle_buffer=0)  # done above
        return base.build_pipeline(ds, preprocess=self._random_crop, repeat=False, augment=False,
                                   **common)
