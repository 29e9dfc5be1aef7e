"""Data streams that are pure functions of `(seed, iteration)`: exact resume, any replica count.

A run's examples form one endless stream of positions `0, 1, 2, ...`; position `q` is example
`perm_e(q mod N)` of epoch `e = q // N`, where `perm_e` is a stateless permutation of the data set
seeded by `(seed, e)` (`tf.random.experimental.index_shuffle`: nothing is materialised, any
position is computed in O(1)). Iteration `t` takes positions `[t * G, (t + 1) * G)` of the stream,
`G` the global batch (all replicas, all D steps of the iteration), and replica `r` takes rows
`[r * b, (r + 1) * b)` of it. So:

* a run resumed at iteration `t` rebuilds its input at exactly the batch it would have read next
  (no skipping through earlier data, no iterator state in checkpoints);
* one device and R replicas read the same global batches: a run may resume with another replica
  count and still read the examples the uninterrupted run would have;
* augmentation keys are derived from the batch's stream position, so they continue too.

`tf.distribute` hands the elements of one input pipeline to its replicas in turn, so pipeline `p`
of `P` (one per worker), feeding `R / P` replicas, yields for its element `e` the rows of
iteration `e // (R / P)` that belong to replica `p * R / P + e % (R / P)`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from tfgan_fast.data import augment as augment_lib
from tfgan_fast.data import base

# The stream is endless in practice: 2^62 positions.
_END = 2 ** 62


def pipeline_layout(input_context):
    """`(replicas fed by this input pipeline, index of its first replica, all replicas)`."""
    if input_context is None:
        return 1, 0, 1
    replicas = int(input_context.num_replicas_in_sync)
    pipelines = int(input_context.num_input_pipelines)
    if replicas % pipelines:
        raise ValueError(f"{replicas} replicas do not divide over {pipelines} input pipelines")
    per_pipeline = replicas // pipelines
    return per_pipeline, int(input_context.input_pipeline_id) * per_pipeline, replicas


def element_positions(element, batch_size, input_context=None):
    """Stream positions `int64 [batch_size]` of this pipeline's `element`-th batch.

    Args:
        element: int64 scalar, the pipeline's element index (iteration x its replicas + k).
        batch_size: per-replica batch size `b`.
        input_context: the `tf.distribute.InputContext`, or None for one replica.
    """
    per_pipeline, first_replica, replicas = pipeline_layout(input_context)
    element = tf.cast(element, tf.int64)
    iteration = element // per_pipeline
    replica = first_replica + element % per_pipeline
    first = iteration * (batch_size * replicas) + replica * batch_size
    return first + tf.range(batch_size, dtype=tf.int64)


def example_indices(positions, num_examples, seed, shuffle=True):
    """Data-set indices of stream `positions` (each epoch a fresh stateless permutation).

    Args:
        positions: int `[n]` stream positions within two consecutive epochs (one batch:
            `n <= num_examples`).
        num_examples: N, the data set's size.
        seed: the run's data seed; epoch `e` is permuted with the seed `(seed, e)`.
        shuffle: False: position `q` is example `q mod N`.
    """
    positions = tf.cast(positions, tf.int64)
    within = positions % num_examples
    if not shuffle:
        return within
    epochs = positions // num_examples
    first = epochs[0]
    check = tf.debugging.assert_less_equal(
        epochs - first, tf.constant(1, tf.int64),
        message="example_indices: positions span more than two epochs")
    # index_shuffle takes one seed for a vector of indices (its batched seeds are mis-padded
    # in TF 2.21), and a batch spans at most two epochs: shuffle with both, pick per position.
    with tf.control_dependencies([check]):
        this_epoch = tf.random.experimental.index_shuffle(
            within, tf.stack([tf.constant(seed, tf.int64), first]), num_examples - 1)
    next_epoch = tf.random.experimental.index_shuffle(
        within, tf.stack([tf.constant(seed, tf.int64), first + 1]), num_examples - 1)
    return tf.where(epochs == first, this_epoch, next_epoch)


def build_indexed_pipeline(
    images: np.ndarray,
    labels: np.ndarray | None,
    *,
    num_classes: int,
    source_name: str,
    preprocess: Callable[[tf.Tensor], tf.Tensor] | None,
    example_shape: tuple[int, ...],
    batch_size: int,
    seed: int,
    input_context: tf.distribute.InputContext | None,
    repeat: bool,
    augment: bool = False,
    shuffle: bool = True,
    start_step: int = 0,
) -> tf.data.Dataset:
    """Batches of an in-memory data set read along the stream (see the module docstring).

    Args:
        images: `[N, ...]` examples (uint8 images for `preprocess`, or float vectors).
        labels: integer `[N]`, or None (then every label is 0).
        num_classes: labels must lie in `[0, num_classes)` (0: labels are not checked).
        source_name: names the source in errors.
        preprocess: maps a batch of examples `[b, ...]` to float32 `[b, *example_shape]`, or
            None to keep them.
        example_shape: the shape of one output example.
        batch_size: per-replica batch size.
        seed: owns the order and the augmentation.
        input_context: from `strategy.distribute_datasets_from_function`, or None.
        repeat: endless (training) or one epoch (statistics; positions `[0, N)` in whole
            batches).
        augment: FastGAN's flip + random resized crop, keyed by the batch's stream position.
        shuffle: a fresh permutation each epoch; False reads the data set in order.
        start_step: the iteration to begin at (a resumed run's iteration).

    Returns:
        A dataset of `(float32 [batch_size, *example_shape], int32 [batch_size])`.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    num_examples = int(images.shape[0])
    if num_examples < batch_size:
        raise base.DataError(f"{source_name}: {num_examples} examples cannot fill a batch of "
                             f"{batch_size}")
    if start_step < 0:
        raise ValueError(f"start_step must be >= 0, got {start_step}")
    per_pipeline, _, replicas = pipeline_layout(input_context)
    images = tf.constant(images)
    labels = tf.zeros([num_examples], tf.int32) if labels is None else tf.constant(labels)
    if repeat:
        first, last = start_step * per_pipeline, _END
    else:  # one pass: the elements whose whole iteration lies inside the first epoch
        first, last = 0, (num_examples // (batch_size * replicas)) * per_pipeline

    def indices(element):
        positions = element_positions(element, batch_size, input_context)
        return element, example_indices(positions, num_examples, seed, shuffle)

    def fetch(element, index):
        examples = tf.gather(images, index)
        if preprocess is not None:
            examples = preprocess(examples)
        examples = tf.ensure_shape(tf.cast(examples, tf.float32), (batch_size,) + example_shape)
        batch_labels = tf.gather(labels, index)
        if num_classes:
            batch_labels = base.validate_label(batch_labels, num_classes, source_name)
        if augment:
            # Keyed by the batch's first stream position: the same batch gets the same crops
            # after a resume and whatever the replica count.
            key = tf.random.experimental.stateless_fold_in(
                tf.constant([seed, 0], tf.int64),
                element_positions(element, batch_size, input_context)[0])
            examples = augment_lib.random_flip_and_resized_crop(examples, key)
        return examples, tf.cast(batch_labels, tf.int32)

    ds = tf.data.Dataset.range(first, last).map(indices)
    ds = ds.map(fetch, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True  # parallel maps must not reorder batches: seeds promise order
    ds = ds.with_options(options)
    return ds.prefetch(tf.data.AUTOTUNE)
