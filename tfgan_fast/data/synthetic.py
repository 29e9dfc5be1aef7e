"""Random images of a given shape: for benchmarks and tests, never for training a real model."""

import gin
import tensorflow as tf

from tfgan_fast.data import base
from tfgan_fast.data import stream


@gin.configurable
class SyntheticImages(base.DataSource):
    """A fixed pool of uniform-noise images in [-1, 1] with uniform labels.

    Benchmarks measure the training step, not the input pipeline, so the pool is small and
    repeated (slicing in-memory tensors costs nothing); the images have the shape and class count
    of the data set they stand in for.

    Args:
        image_shape: `(H, W, C)`.
        num_classes: C (0 for unconditional).
        pool_size: how many distinct images to cycle through.
    """

    def __init__(self, image_shape=(32, 32, 3), num_classes=10, pool_size=256):
        self._image_shape = tuple(int(s) for s in image_shape)
        if len(self._image_shape) != 3 or min(self._image_shape) <= 0:
            raise ValueError(f"SyntheticImages.image_shape must be (H, W, C), got {image_shape}")
        self._num_classes = int(num_classes)
        self._pool_size = int(pool_size)

    _name = "synthetic"

    exact_resume = True

    def make(self, batch_size, seed=0, input_context=None, repeat=True, start_step=0):
        n = max(self._pool_size, batch_size)
        images = tf.random.stateless_uniform((n,) + self._image_shape, seed=[seed, 0],
                                             minval=-1.0, maxval=1.0)
        labels = tf.random.stateless_uniform([n], seed=[seed, 1], minval=0,
                                             maxval=max(self._num_classes, 1), dtype=tf.int32)
        return stream.build_indexed_pipeline(
            images.numpy(), labels.numpy(), num_classes=0, source_name=self.name,
            preprocess=None, example_shape=self._image_shape, batch_size=batch_size, seed=seed,
            input_context=input_context, repeat=repeat, shuffle=False, start_step=start_step)
