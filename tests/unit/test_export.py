"""SavedModel export: reload equals the in-memory generator; PNG and unconditional signatures;
bad inputs fail with one line; TF Serving's version layout."""

import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.support.tiny_nets import TinyGenerator
from tfgan_fast.export import saved_model as export
from tfgan_fast.runtime import precision
from tfgan_fast.nets import ResNetGenerator


class ExportTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.g = ResNetGenerator(resolution=32, channels=3, width=16, z_dim=8, num_classes=5)
        cls.z = tf.random.stateless_normal([6, 8], seed=[0, 1])
        cls.labels = tf.constant([0, 1, 2, 3, 4, 0], tf.int32)
        cls.g(cls.z, cls.labels, training=True)  # build and move the BN statistics
        cls.dir = tempfile.mkdtemp()
        cls.path = export.export_generator(cls.g, os.path.join(cls.dir, "g"), z_dim=8,
                                           num_classes=5)
        cls.loaded = tf.saved_model.load(cls.path)
        cls.serve = cls.loaded.signatures["serving_default"]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def test_reload_reproduces_generator(self):
        out = self.serve(z=self.z, labels=self.labels)
        self.assertEqual(list(out), ["images"])
        want = self.g(self.z, self.labels, training=False)
        self.assertAllClose(out["images"], want, atol=1e-6)
        self.assertEqual(out["images"].shape, (6, 32, 32, 3))
        self.assertLessEqual(float(tf.reduce_max(tf.abs(out["images"]))), 1.0)

    def test_signatures(self):
        self.assertEqual(sorted(self.loaded.signatures), ["png", "serving_default", "truncated"])
        spec = self.serve.structured_input_signature[1]
        self.assertIsNone(spec["z"].shape.rank)  # shapes are checked inside, with messages
        self.assertEqual(spec["z"].dtype, tf.float32)
        self.assertIsNone(spec["labels"].shape.rank)
        self.assertEqual(export.read_metadata(self.path),
                         {"z_dim": 8, "num_classes": 5, "image_shape": [32, 32, 3]})
        self.assertEqual(spec["labels"].dtype, tf.int32)

    def test_png_signature_encodes_each_row_as_uint8_png(self):
        out = self.loaded.signatures["png"](z=self.z[:2], labels=self.labels[:2])
        self.assertEqual(list(out), ["images_png_bytes"])  # REST returns *_bytes as b64
        images = self.serve(z=self.z[:2], labels=self.labels[:2])["images"].numpy()
        for png, image in zip(out["images_png_bytes"].numpy(), images):
            decoded = tf.io.decode_png(png).numpy()
            self.assertEqual(decoded.shape, (32, 32, 3))
            np.testing.assert_array_equal(
                decoded, np.clip(np.round((image + 1.0) * 127.5), 0, 255).astype(np.uint8))

    def test_an_empty_batch_gives_an_empty_batch_of_the_right_shape(self):
        out = self.serve(z=tf.zeros([0, 8]), labels=tf.zeros([0], tf.int32))["images"]
        self.assertEqual(out.shape, (0, 32, 32, 3))
        png = self.loaded.signatures["png"](z=tf.zeros([0, 8]), labels=tf.zeros([0], tf.int32))
        self.assertEqual(png["images_png_bytes"].shape, (0,))

    def test_bad_inputs_fail_with_one_line_naming_them(self):
        cases = [
            (dict(z=tf.zeros([3, 9]), labels=tf.zeros([3], tf.int32)),
             r"z must have shape \[N, 8\] \(float32\); got shape\] \[3 9\]"),
            (dict(z=tf.fill([2, 8], float("nan")), labels=tf.zeros([2], tf.int32)),
             r"z must be finite \(no NaN or Inf\)"),
            (dict(z=self.z, labels=self.labels[:2]),
             r"z and labels must have the same batch size; got\] \[6\] \[and\] \[2\]"),
            (dict(z=self.z[:2], labels=tf.constant([1, 7], tf.int32)),
             r"labels must be in \[0, 5\); got\] \[7\]"),
            (dict(z=self.z[:1], labels=tf.constant([-1], tf.int32)),
             r"labels must be in \[0, 5\); got\] \[-1\]"),
            (dict(z=tf.zeros([3, 8, 1]), labels=tf.zeros([3], tf.int32)),
             r"z must have shape \[N, 8\] \(float32\); got shape\] \[3 8 1\]"),
            (dict(z=tf.zeros([8]), labels=tf.zeros([1], tf.int32)),
             r"z must have shape \[N, 8\] \(float32\); got shape\] \[8\]"),
            (dict(z=tf.zeros([1, 8]), labels=tf.constant(1)),
             r"labels must have shape \[N\] \(int32 class ids\); got shape\] \[\]"),
            # A wrong dtype never reaches the graph: TensorFlow names both dtypes.
            (dict(z=tf.zeros([3, 8], tf.int32), labels=tf.zeros([3], tf.int32)),
             r"expected to be a float tensor but is a int32 tensor"),
        ]
        for inputs, message in cases:
            with self.subTest(message=message):
                with self.assertRaisesRegex(tf.errors.InvalidArgumentError, message):
                    self.serve(**inputs)

    def test_overwrite_is_atomic_and_leaves_no_temp_dirs(self):
        export.export_generator(self.g, self.path, z_dim=8, num_classes=5)
        siblings = os.listdir(os.path.dirname(self.path))
        self.assertEqual(siblings, ["g"])

    def test_versions_keep_the_newest_and_resolve(self):
        # The version layout does not depend on the network: a tiny one exports faster.
        g = TinyGenerator(z_dim=8, num_classes=5)
        g(self.z, self.labels)
        base = os.path.join(self.get_temp_dir(), "export")
        for version in (100, 200, 300, 400):
            export.export_version(g, base, version, z_dim=8, num_classes=5)
        self.assertEqual(export.versions(base), [200, 300, 400])  # the newest three
        self.assertEqual(export.resolve_saved_model(base), os.path.join(base, "400"))
        self.assertEqual(export.resolve_saved_model(os.path.join(base, "200")),
                         os.path.join(base, "200"))
        with self.assertRaisesRegex(FileNotFoundError, "no SavedModel in"):
            export.resolve_saved_model(self.get_temp_dir())


class UnconditionalExportTest(tf.test.TestCase):

    def test_signatures_take_z_alone(self):
        g = ResNetGenerator(resolution=32, channels=1, width=8, z_dim=4, num_classes=0)
        z = tf.random.stateless_normal([3, 4], seed=[2, 3])
        g(z, None, training=True)
        loaded = tf.saved_model.load(export.export_generator(
            g, os.path.join(self.get_temp_dir(), "u"), z_dim=4, num_classes=0))
        for name in ("serving_default", "truncated", "png"):
            inputs = loaded.signatures[name].structured_input_signature[1]
            self.assertNotIn("labels", inputs, name)
        out = loaded.signatures["serving_default"](z=z)["images"]
        self.assertAllClose(out, g(z, None, training=False), atol=1e-6)
        half = loaded.signatures["truncated"](z=z, truncation=tf.constant(0.5))["images"]
        self.assertAllClose(half, g(0.5 * z, None, training=False), atol=1e-6)


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


class OlderExportTest(tf.test.TestCase):

    def test_z_size_from_the_signature_of_an_export_without_metadata(self):
        """Exports of an older tfgan_fast had no metadata file but a static [N, z_dim] z."""
        module = tf.Module()
        module.serve = tf.function(lambda z: {"images": tf.zeros([tf.shape(z)[0], 4, 4, 1])},
                                   input_signature=[tf.TensorSpec([None, 7], tf.float32, "z")])
        path = os.path.join(self.get_temp_dir(), "older")
        tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
        serve = tf.saved_model.load(path).signatures["serving_default"]
        self.assertEqual(export.export_metadata(path, serve), {"z_dim": 7})
        module.serve = tf.function(lambda z: {"images": tf.zeros([tf.shape(z)[0], 4, 4, 1])},
                                   input_signature=[tf.TensorSpec(None, tf.float32, "z")])
        bare = os.path.join(self.get_temp_dir(), "bare")
        tf.saved_model.save(module, bare, signatures={"serving_default": module.serve})
        serve = tf.saved_model.load(bare).signatures["serving_default"]
        with self.assertRaisesRegex(ValueError, "has no assets.extra/tfgan_fast.json and its "
                                    "signature does not give z's size"):
            export.export_metadata(bare, serve)
