"""Export formats: an op a format cannot express is named with the format, and format names are
checked (the conversions themselves: tests/integration/test_export_formats.py)."""

import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_fast.export import saved_model as export
from tfgan_fast.export import formats as export_formats

Z, C = 8, 3


def _inputs(n, num_classes, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, Z)).astype(np.float32)
    labels = rng.integers(0, num_classes, n).astype(np.int32) if num_classes else None
    return z, labels


class SqrtmGenerator(keras.Model):
    """G with an op no format converts (a matrix square root)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(4)

    def call(self, z, labels=None, training=None):
        x = tf.reshape(self.dense(z), [-1, 2, 2])
        x = tf.matmul(x, x, transpose_b=True) + tf.eye(2)
        return tf.reshape(tf.linalg.sqrtm(x), [-1, 2, 2, 1])


class ErrorsTest(tf.test.TestCase):

    def test_an_op_without_conversion_is_named_with_the_format(self):
        g = SqrtmGenerator(name="sqrtm_generator")
        g(tf.zeros([1, 4]))
        base = os.path.join(self.get_temp_dir(), "export")
        for fmt, name in (("onnx", "ONNX"), ("litert", "LiteRT")):
            with self.subTest(fmt):
                with self.assertRaisesRegex(
                        export_formats.ConversionError,
                        f"^cannot export the generator to {name}: no {name} conversion for the "
                        "TensorFlow op\\(s\\) MatrixSquareRoot$"):
                    export.export_version(g, base, 7, 4, 0, formats=[fmt])
                self.assertEqual(export.versions(base), [])  # no half-written version

    def test_format_names(self):
        self.assertEqual(export_formats.normalise_formats("onnx,TFLite, litert"),
                         ["onnx", "litert"])
        self.assertEqual(export_formats.normalise_formats(()), [])
        with self.assertRaisesRegex(ValueError, r"^unknown export format 'tfjs'; known: "
                                    r"litert, onnx \(tflite is litert\)$"):
            export_formats.normalise_formats(["onnx", "tfjs"])


if __name__ == "__main__":
    tf.test.main()
