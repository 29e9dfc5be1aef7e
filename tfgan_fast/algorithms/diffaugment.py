"""Differentiable augmentation of every image D sees (Zhao, Liu, Lin, Zhu and Han, "Differentiable
Augmentation for Data-Efficient GAN Training", NeurIPS 2020).

D is trained on `T(x_r)` and `T(G(z))`, and G through `D(T(G(z)))`: the transforms are
differentiable, so G's gradient passes through them, and D cannot memorise a small training set
as easily. The three policies of the paper, each a pure function of a batch `[B, H, W, C]` (images
in [-1, 1]) and a stateless seed, every example with its own random parameters:

- `color`: brightness `x + (u - 0.5)`, saturation `(x - mean_c x) * 2u + mean_c x`, contrast
  `(x - mean x) * (u + 0.5) + mean x` (u ~ U(0, 1) per example and transform);
- `translation`: a shift by up to 1/8 of the image in each direction, filled with zeros;
- `cutout`: a square of half the image's side set to zero, at a random place.

Zero is mid-grey on the [-1, 1] scale, as in the paper's code. `DiffAugment` is the trainer's
part (`GANTrainer.augment`); its random parameters are drawn for the global batch and sliced per
replica, from the step's seed, so a resumed or re-sharded run augments the same way.
"""

import gin
import tensorflow as tf

from tfgan_fast.runtime import distribute

POLICIES = ("color", "translation", "cutout")


def _uniform(shape, seed, salt):
    """This replica's rows of `U(0, 1)` draws for the global batch."""
    seed = tf.random.experimental.stateless_fold_in(seed, salt)
    return distribute.replica_rows(
        lambda global_shape: tf.random.stateless_uniform(global_shape, seed=seed), shape)


def color(x, seed):
    """Brightness, saturation and contrast, each with its own factor per example."""
    b = x.shape[0]
    x = x + (_uniform([b, 1, 1, 1], seed, 0) - 0.5)
    mean_c = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean_c) * (_uniform([b, 1, 1, 1], seed, 1) * 2.0) + mean_c
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (_uniform([b, 1, 1, 1], seed, 2) + 0.5) + mean


def _shift(size, ratio, u):
    """Integer shifts in [-s, s], s = round(size * ratio), from uniform draws `u`."""
    s = int(size * ratio + 0.5)
    return tf.cast(tf.floor(u * (2 * s + 1)), tf.int32) - s


def translation(x, seed, ratio=0.125):
    """Shifts each example by up to `ratio` of its size along each axis; the vacated pixels
    are zero."""
    b, h, w, _ = x.shape
    dy = _shift(h, ratio, _uniform([b], seed, 3))
    dx = _shift(w, ratio, _uniform([b], seed, 4))
    rows = tf.range(h)[None, :] - dy[:, None]  # output row i reads input row i - dy
    cols = tf.range(w)[None, :] - dx[:, None]
    valid = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    x = tf.gather(x, tf.clip_by_value(rows, 0, h - 1), axis=1, batch_dims=1)
    x = tf.gather(x, tf.clip_by_value(cols, 0, w - 1), axis=2, batch_dims=1)
    return x * tf.cast(valid, x.dtype)[..., None]


def cutout(x, seed, ratio=0.5):
    """Zeroes a square of side `round(ratio * size)` centred at a random place (it may be cut
    by the border)."""
    b, h, w, _ = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = tf.cast(tf.floor(_uniform([b], seed, 5) * (h + (1 - ch % 2))), tf.int32)
    cx = tf.cast(tf.floor(_uniform([b], seed, 6) * (w + (1 - cw % 2))), tf.int32)
    rows = tf.range(h)[None, :] - (cy[:, None] - ch // 2)
    cols = tf.range(w)[None, :] - (cx[:, None] - cw // 2)
    inside = ((rows >= 0) & (rows < ch))[:, :, None] & ((cols >= 0) & (cols < cw))[:, None, :]
    return x * tf.cast(~inside, x.dtype)[..., None]


_TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


class DiffAugment:
    """The trainer's augmentation part: `policy` transforms applied in order.

    Args:
        policy: a comma-separated subset of `color,translation,cutout` (the paper's full policy
            is all three).
    """

    def __init__(self, policy="color,translation,cutout"):
        names = [p.strip() for p in str(policy).split(",") if p.strip()]
        unknown = [p for p in names if p not in POLICIES]
        if unknown or not names:
            raise ValueError(f"DiffAugment.policy must name some of {', '.join(POLICIES)}, "
                             f"got {policy!r}")
        self.policy = tuple(names)

    def __repr__(self):
        return f"DiffAugment({','.join(self.policy)})"

    def __call__(self, x, seed):
        """`T(x)` for a batch `[B, H, W, C]` under the `[2]` seed (image batches only)."""
        if x.shape.rank != 4:
            raise ValueError(f"DiffAugment transforms image batches [B, H, W, C], got shape "
                             f"{x.shape}")
        for i, name in enumerate(self.policy):
            x = _TRANSFORMS[name](x, tf.random.experimental.stateless_fold_in(seed, i))
        return x


gin.external_configurable(DiffAugment, module="tfgan_fast")
