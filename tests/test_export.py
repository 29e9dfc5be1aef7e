"""SavedModel export: reload equals the in-memory generator; bad labels fail clearly."""

import os

import keras
import tensorflow as tf

from tfgan_fast import export
from tfgan_fast import precision
from tfgan_fast.nets import ResNetGenerator


class ExportTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.g = ResNetGenerator(resolution=32, channels=3, width=16, z_dim=8, num_classes=5)
        self.z = tf.random.stateless_normal([6, 8], seed=[0, 1])
        self.labels = tf.constant([0, 1, 2, 3, 4, 0], tf.int32)
        self.g(self.z, self.labels, training=True)  # build and move the BN statistics
        self.path = export.export_generator(self.g, os.path.join(self.get_temp_dir(), "g"),
                                            z_dim=8, num_classes=5)
        self.serve = tf.saved_model.load(self.path).signatures["serving_default"]

    def test_reload_reproduces_generator(self):
        out = self.serve(z=self.z, labels=self.labels)
        self.assertEqual(list(out), ["images"])
        want = self.g(self.z, self.labels, training=False)
        self.assertAllClose(out["images"], want, atol=1e-6)
        self.assertEqual(out["images"].shape, (6, 32, 32, 3))
        self.assertLessEqual(float(tf.reduce_max(tf.abs(out["images"]))), 1.0)

    def test_signature(self):
        spec = self.serve.structured_input_signature[1]
        self.assertEqual(spec["z"].shape.as_list(), [None, 8])
        self.assertEqual(spec["z"].dtype, tf.float32)
        self.assertEqual(spec["labels"].shape.as_list(), [None])
        self.assertEqual(spec["labels"].dtype, tf.int32)

    def test_out_of_range_labels_are_rejected(self):
        for bad in (5, -1):
            with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                        r"labels must be in \[0, 5\)"):
                self.serve(z=self.z[:1], labels=tf.constant([bad], tf.int32))

    def test_mismatched_batch_is_rejected(self):
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "same batch size"):
            self.serve(z=self.z, labels=self.labels[:2])

    def test_overwrite_is_atomic_and_leaves_no_temp_dirs(self):
        export.export_generator(self.g, self.path, z_dim=8, num_classes=5)
        siblings = os.listdir(os.path.dirname(self.path))
        self.assertEqual(siblings, ["g"])


class BFloat16ExportTest(tf.test.TestCase):

    def test_bfloat16_generator_serves_float32_images_close_to_eager(self):
        with precision.global_policy("mixed_bfloat16"):
            g = ResNetGenerator(resolution=32, channels=1, width=16, z_dim=8, num_classes=5)
        z = tf.random.stateless_normal([6, 8], seed=[0, 1])
        labels = tf.constant([0, 1, 2, 3, 4, 0], tf.int32)
        g(z, labels, training=True)
        path = export.export_generator(g, os.path.join(self.get_temp_dir(), "g16"), 8, 5)
        out = tf.saved_model.load(path).signatures["serving_default"](z=z, labels=labels)
        self.assertEqual(out["images"].dtype, tf.float32)
        want = tf.cast(g(z, labels, training=False), tf.float32)
        self.assertEqual(keras.mixed_precision.global_policy().name, "float32")
        # bfloat16 keeps 8 significant bits: a graph may round differently from eager, but
        # only by bfloat16 steps, never by a different computation.
        self.assertAllClose(out["images"], want, atol=0.05)
        self.assertLess(float(tf.reduce_mean(tf.abs(out["images"] - want))), 5e-3)


if __name__ == "__main__":
    tf.test.main()
