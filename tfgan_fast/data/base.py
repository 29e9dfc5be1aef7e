"""Pieces shared by every data source: the error type and the common `tf.data` tail.

Every source turns its raw examples into `(uint8 image [H, W, C], int label)` pairs and hands them
to `build_pipeline`, so sharding, shuffling, label validation, scaling, augmentation, batching and
prefetching behave the same for TFDS sets and local IDX files.
"""
from __future__ import annotations

from typing import Callable

import tensorflow as tf

from tfgan_fast.data import augment as augment_lib
from tfgan_fast.runtime.errors import RunError


class DataError(RunError, RuntimeError):
    """A data set is missing, unreachable or malformed; the message says how to fix it."""


class DataSource:
    """What `run.data` takes: a source of labelled image batches, and its description.

    A subclass sets `_name`, `_num_classes` and `_image_shape` (or overrides the properties)
    and implements `make`.

    Attributes:
        exact_resume: whether `make(start_step=k)` continues exactly the stream a run that
            started at 0 would see at iteration k (random access); else a resumed run
            reshuffles.
        num_examples: the number of training examples, when known (else None).
    """

    exact_resume = False
    num_examples = None

    @property
    def name(self) -> str:
        """Shown in logs, summaries and evaluation records."""
        return self._name

    @property
    def num_classes(self) -> int:
        """C, the labels' range `[0, C)`; 0 for unlabelled data."""
        return self._num_classes

    @property
    def image_shape(self) -> tuple:
        """`(H, W, C)` of the images `make` yields (`(D,)` for vector data)."""
        return self._image_shape

    def make(self, batch_size: int, seed: int = 0,
             input_context: tf.distribute.InputContext | None = None,
             repeat: bool = True, start_step: int = 0) -> tf.data.Dataset:
        """The input pipeline, a function of `(seed, iteration)` where the source allows it.

        Args:
            batch_size: per-replica batch size.
            seed: fixes the order and the augmentation.
            input_context: this pipeline's replicas (from `distribute_datasets_from_function`).
            repeat: endless; False reads one epoch.
            start_step: the iteration to begin at (a resumed run's; see `exact_resume`).

        Returns:
            `(images float32 [batch_size, *image_shape] in [-1, 1], labels int32 [batch_size])`.
        """
        raise NotImplementedError


def validate_label(label: tf.Tensor, num_classes: int, source_name: str) -> tf.Tensor:
    """Returns `label` (a scalar or a batch) as int32 after checking it lies in
    `[0, num_classes)`.

    Runs inside the pipeline so that corrupt labels fail loudly at read time instead of indexing
    out of range in a conditional layer (which on GPU silently reads garbage).

    Args:
        label: integer label(s), any shape.
        num_classes: number of classes of the source.
        source_name: name used in the error message.

    Returns:
        The label(s), int32.

    Raises:
        tf.errors.InvalidArgumentError: when iterated over a label outside the range; the message
            contains the range and the offending value.
    """
    label = tf.cast(label, tf.int64)  # int64 first so that huge values are not wrapped
    in_range = tf.logical_and(label >= 0, label < num_classes)
    bad = tf.boolean_mask(label, tf.logical_not(in_range)) if label.shape.rank else label
    check = tf.debugging.Assert(
        tf.reduce_all(in_range),
        [f"{source_name}: label outside the range [0, {num_classes}); got label", bad])
    with tf.control_dependencies([check]):
        return tf.cast(tf.identity(label), tf.int32)


def to_unit_range(image: tf.Tensor) -> tf.Tensor:
    """Maps uint8 pixels `[..., H, W, C]` from [0, 255] to float32 in [-1, 1]."""
    return tf.cast(image, tf.float32) * (2.0 / 255.0) - 1.0


def build_pipeline(
    ds: tf.data.Dataset,
    *,
    num_classes: int,
    source_name: str,
    preprocess: Callable[[tf.Tensor], tf.Tensor],
    image_shape: tuple[int, int, int],
    batch_size: int,
    seed: int,
    input_context: tf.distribute.InputContext | None,
    repeat: bool,
    augment: bool,
    shuffle_buffer: int,
) -> tf.data.Dataset:
    """Shards, shuffles, preprocesses, augments and batches `(image, label)` examples.

    Args:
        ds: unbatched examples `(image, label)`; `image` uint8 `[h, w, c]` in any size that
            `preprocess` understands, `label` an integer scalar.
        num_classes: labels must lie in `[0, num_classes)`.
        source_name: names the source in label errors.
        preprocess: maps one uint8 image to float32 `image_shape` in [-1, 1] (scaling, padding or
            resizing), before augmentation.
        image_shape: `(H, W, C)` of the output images.
        batch_size: per-replica batch size.
        seed: owns all randomness of the pipeline (shuffle order and augmentation).
        input_context: from `strategy.distribute_datasets_from_function`; the data are sharded
            when it has more than one input pipeline.
        repeat: repeat forever.
        augment: apply `augment.random_flip_and_resized_crop`.
        shuffle_buffer: size of the shuffle buffer (0 disables shuffling).

    Returns:
        A dataset of `(images float32 [batch_size, H, W, C], labels int32 [batch_size])`.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    pipeline_id = 0
    if input_context is not None and input_context.num_input_pipelines > 1:
        # Shard before shuffling so each replica group sees a disjoint, fixed part of the data.
        ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        pipeline_id = input_context.input_pipeline_id
    if shuffle_buffer and shuffle_buffer > 1:
        # The op seed alone fixes the order when no global TF seed is set; when the caller set
        # one (keras.utils.set_random_seed), the order is fixed by the pair.
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()

    def _prepare(image, label):
        image = preprocess(image)
        image = tf.ensure_shape(image, image_shape)
        return image, validate_label(label, num_classes, source_name)

    ds = ds.map(_prepare, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=True)
    if augment:
        # Augmentation keys are derived from (seed, pipeline, batch index), never from a stateful
        # generator, so the same seed gives the same batches and replicas do not share crops.
        base_key = tf.constant([seed, pipeline_id], tf.int64)

        def _augment(index, batch):
            images, labels = batch
            key = tf.random.experimental.stateless_fold_in(base_key, index)
            return augment_lib.random_flip_and_resized_crop(images, key), labels

        ds = ds.enumerate().map(_augment, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True  # parallel maps must not reorder batches: seeds promise order
    ds = ds.with_options(options)
    return ds.prefetch(tf.data.AUTOTUNE)
