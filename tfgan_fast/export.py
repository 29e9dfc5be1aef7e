"""SavedModel export of a generator for TF Serving.

Signature `serving_default`: inputs `z` float32 `[None, z_dim]` and `labels` int32 `[None]`,
output `images` float32 `[None, H, W, C]` in [-1, 1]. Labels outside [0, C) and mismatched batch
sizes fail with an `InvalidArgumentError` that says so, instead of embedding garbage rows.

Signature `truncated`: the same plus a scalar float32 `truncation` s; the generator sees `s * z`
(the truncation trick of BigGAN / Wu et al. 2019, §5.2.4: s in (0, 1] trades diversity for
fidelity, s = 0 gives one image per label).
"""

import keras
import tensorflow as tf

from tfgan_fast import fileio


class GeneratorServing:
    """The generator in inference mode behind a validated serving function."""

    def __init__(self, generator, z_dim, num_classes):
        self.generator = generator
        self.z_dim = int(z_dim)
        self.num_classes = int(num_classes)
        self.input_signature = [tf.TensorSpec([None, self.z_dim], tf.float32, name="z"),
                                tf.TensorSpec([None], tf.int32, name="labels")]

    def serve(self, z, labels):
        checks = [tf.debugging.assert_equal(
            tf.shape(z)[0], tf.shape(labels)[0],
            message="z and labels must have the same batch size")]
        if self.num_classes:
            checks += [
                tf.debugging.assert_non_negative(
                    labels, message=f"labels must be in [0, {self.num_classes})"),
                tf.debugging.assert_less(
                    labels, tf.constant(self.num_classes, tf.int32),
                    message=f"labels must be in [0, {self.num_classes})"),
            ]
        with tf.control_dependencies(checks):
            images = self.generator(z, labels if self.num_classes else None, training=False)
        return {"images": tf.cast(images, tf.float32)}

    def serve_truncated(self, z, labels, truncation):
        """`serve(truncation * z, labels)`; `truncation` is a float32 scalar."""
        return self.serve(z * tf.cast(truncation, z.dtype), labels)


def export_generator(generator, path, z_dim, num_classes):
    """Writes the SavedModel to `path` atomically (a temporary sibling, then a rename).

    Returns:
        `path`.
    """
    serving = GeneratorServing(generator, z_dim, num_classes)
    # The endpoint tracks the variables it uses. Tracking the Keras model itself (or saving a
    # tf.Module that holds it) would also trace Keras' one-input default signature, which calls
    # G without labels.
    archive = keras.export.ExportArchive()
    archive.add_endpoint(name="serving_default", fn=serving.serve,
                         input_signature=serving.input_signature)
    archive.add_endpoint(name="truncated", fn=serving.serve_truncated,
                         input_signature=serving.input_signature + [
                             tf.TensorSpec([], tf.float32, name="truncation")])
    return fileio.replace_dir_atomically(path, lambda tmp: archive.write_out(tmp, verbose=False))
