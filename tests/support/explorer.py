"""The explorer's images: the SavedModel's for the same inputs, and a grid cut into tiles."""

import numpy as np
import tensorflow as tf


def expected_tiles(signature, z, labels, truncation):
    """uint8 tiles `[N, H, W, C]` of the SavedModel's `truncated` signature."""
    images = signature(z=tf.constant(z), labels=tf.constant(labels, tf.int32),
                       truncation=tf.constant(truncation, tf.float32))["images"].numpy()
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid_tiles(grid, shape, count, cols):
    h, w = shape[:2]
    return np.stack([grid[(i // cols) * h:(i // cols + 1) * h, (i % cols) * w:(i % cols + 1) * w]
                     for i in range(count)])
