"""FastGAN's augmentation (Zhong et al. 2020, App. B.2): random horizontal flip, resized crop.

Pure, stateless functions: every random draw is keyed by an explicit seed, so a pipeline that
derives the seed from (run seed, batch index) replays exactly.
"""
from __future__ import annotations

import math
from typing import Sequence

import tensorflow as tf


def _as_key(seed) -> tf.Tensor:
    """Turns an int or a `[2]` tensor into a `[2]` int64 stateless-RNG key."""
    seed = tf.convert_to_tensor(seed)
    if seed.shape.rank == 0:
        seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    return tf.cast(seed, tf.int64)


def random_flip_and_resized_crop(
    images: tf.Tensor,
    seed,
    *,
    scale: Sequence[float] = (0.8, 1.0),
    ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
    flip: bool = True,
    output_size: Sequence[int] | None = None,
    max_attempts: int = 10,
) -> tf.Tensor:
    """Randomly flips each image left-right and takes a random resized crop of it.

    The crop follows torchvision's `RandomResizedCrop`: the crop covers a fraction of the image
    area drawn uniformly from `scale`, with aspect ratio (width / height) drawn log-uniformly from
    `ratio`; of `max_attempts` draws the first that fits in the image is used, and if none fits
    the largest centred crop with a clamped aspect ratio is used. The crop is resized back
    bilinearly (corner-aligned sampling, so a full-image crop at the input size is an exact
    identity). Bilinear interpolation is a convex combination, so the value range is preserved.

    Args:
        images: float images `[N, H, W, C]` or a single image `[H, W, C]`.
        seed: an int or an int `[2]` tensor; the output is a deterministic function of it.
        scale: range of the crop's area fraction.
        ratio: range of the crop's aspect ratio (width / height).
        flip: whether to apply the random horizontal flip (probability 1/2 per image).
        output_size: `(out_h, out_w)`; defaults to the input `(H, W)`.
        max_attempts: number of (area, ratio) draws tried per image.

    Returns:
        Images `[N, out_h, out_w, C]` (or `[out_h, out_w, C]`) with the input dtype.
    """
    images = tf.convert_to_tensor(images)
    unbatched = images.shape.rank == 3
    if unbatched:
        images = images[tf.newaxis]
    dtype = images.dtype
    shape = tf.shape(images)
    n = shape[0]
    height = tf.cast(shape[1], tf.float32)
    width = tf.cast(shape[2], tf.float32)
    if output_size is None:
        output_size = (shape[1], shape[2])

    keys = tf.random.experimental.stateless_split(_as_key(seed), num=5)
    area_frac = tf.random.stateless_uniform(
        [n, max_attempts], keys[0], minval=scale[0], maxval=scale[1])
    log_ratio = tf.random.stateless_uniform(
        [n, max_attempts], keys[1], minval=math.log(ratio[0]), maxval=math.log(ratio[1]))
    aspect = tf.exp(log_ratio)
    area = height * width * area_frac
    crop_w = tf.round(tf.sqrt(area * aspect))
    crop_h = tf.round(tf.sqrt(area / aspect))
    fits = (crop_w > 0) & (crop_w <= width) & (crop_h > 0) & (crop_h <= height)
    first = tf.argmax(tf.cast(fits, tf.int32), axis=1, output_type=tf.int32)
    any_fits = tf.reduce_any(fits, axis=1)
    crop_w = tf.gather(crop_w, first, axis=1, batch_dims=1)
    crop_h = tf.gather(crop_h, first, axis=1, batch_dims=1)

    # torchvision's fallback: the whole image, narrowed to the nearest allowed aspect ratio.
    in_ratio = width / height
    fallback_w = tf.where(in_ratio > ratio[1], tf.round(height * ratio[1]), width)
    fallback_h = tf.where(in_ratio < ratio[0], tf.round(width / ratio[0]), height)
    crop_w = tf.where(any_fits, crop_w, fallback_w)
    crop_h = tf.where(any_fits, crop_h, fallback_h)

    u_top = tf.random.stateless_uniform([n], keys[2])
    u_left = tf.random.stateless_uniform([n], keys[3])
    # floor(u * (range + 1)) is uniform over {0..range}; the min guards u's float rounding.
    top = tf.minimum(tf.floor(u_top * (height - crop_h + 1.0)), height - crop_h)
    left = tf.minimum(tf.floor(u_left * (width - crop_w + 1.0)), width - crop_w)
    top = tf.where(any_fits, top, tf.floor((height - crop_h) / 2.0))
    left = tf.where(any_fits, left, tf.floor((width - crop_w) / 2.0))

    # crop_and_resize maps normalised coordinate y to pixel y * (H - 1): the box spans the centres
    # of the first and last cropped pixels.
    y_scale = tf.maximum(height - 1.0, 1.0)
    x_scale = tf.maximum(width - 1.0, 1.0)
    boxes = tf.stack([top / y_scale, left / x_scale,
                      (top + crop_h - 1.0) / y_scale, (left + crop_w - 1.0) / x_scale], axis=1)
    out = tf.image.crop_and_resize(
        tf.cast(images, tf.float32), boxes, tf.range(n), tf.stack(output_size), method="bilinear")

    if flip:
        do_flip = tf.random.stateless_uniform([n], keys[4]) < 0.5
        out = tf.where(do_flip[:, tf.newaxis, tf.newaxis, tf.newaxis], tf.reverse(out, [2]), out)
    out = tf.cast(out, dtype)
    return out[0] if unbatched else out
