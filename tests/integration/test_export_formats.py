"""ONNX and LiteRT exports equal the SavedModel on every network family (ONNX Runtime and the
LiteRT interpreter as the independent runtimes), for batches of 4, 1 and 0; a bfloat16 model
exports in float32."""

import os
import shutil
import tempfile

import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from tfgan_fast import nets
from tfgan_fast.export import formats as export_formats
from tfgan_fast.export import saved_model as export
from tfgan_fast.runtime import precision


Z, C = 8, 3


FAMILIES = {  # name: (tiny generator, num_classes)
    "resnet": (lambda: nets.ResNetGenerator(resolution=16, channels=3, width=8, z_dim=Z,
                                            num_classes=C), C),
    "dcgan": (lambda: nets.DCGANGenerator(resolution=8, width=4, z_dim=Z), 0),
    "sngan_cnn": (lambda: nets.SNGANCNNGenerator(resolution=16, channels=1, width=8, z_dim=Z,
                                                 num_classes=C, conditional=True), C),
    "conventional": (lambda: nets.ConventionalGenerator(resolution=8, channels=1, width=2,
                                                        z_dim=Z), 0),
    # Every BigGAN-deep component (self-attention included) at 16 px.
    "biggan_deep": (lambda: nets.BigGANDeepGenerator(
        resolution=16, width=4, z_dim=Z, num_classes=C, embedding_dim=4, leaky_slope=0.2,
        attention_resolution=8, blocks_per_stage=1, channel_multipliers=(4, 4, 4)), C),
    "mlp": (lambda: nets.MLPGenerator(width=8, depth=2, z_dim=Z), 0),  # 2-D points
}


def _inputs(n, num_classes, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, Z)).astype(np.float32)
    labels = rng.integers(0, num_classes, n).astype(np.int32) if num_classes else None
    return z, labels


def _trained(make, num_classes):
    """A generator whose BN moving statistics have moved away from their start."""
    g = make()
    for seed in range(3):
        z, labels = _inputs(4, num_classes, seed)
        g(tf.constant(3.0 * z), None if labels is None else tf.constant(labels), training=True)
    return g


def _onnx(path, z, labels):
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {"z": z} if labels is None else {"z": z, "labels": labels}
    return session.run(["images"], feeds)[0]


def _litert(path, z, labels):
    return export_formats.run_litert(Interpreter(model_path=path), z, labels)


def _saved_model(signature, z, labels, **extra):
    feeds = {"z": tf.constant(z), **extra}
    if labels is not None:
        feeds["labels"] = tf.constant(labels)
    return signature(**feeds)["images"].numpy()


class FamiliesTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def test_onnx_and_litert_equal_the_saved_model_on_every_family(self):
        for name, (make, num_classes) in FAMILIES.items():
            with self.subTest(family=name):
                path = export.export_generator(_trained(make, num_classes),
                                               os.path.join(self.dir, name), Z, num_classes,
                                               formats=("onnx", "tflite"))
                self.assertLessEqual({"generator.onnx", "generator.tflite", "saved_model.pb"},
                                     set(os.listdir(path)))
                signatures = tf.saved_model.load(path).signatures
                serve = signatures["serving_default"]
                for n in (4, 1, 0):
                    z, labels = _inputs(n, num_classes, seed=10 + n)
                    want = _saved_model(serve, z, labels)
                    for runtime in (_onnx, _litert):
                        got = runtime(os.path.join(path, export_formats.FILES[
                            "onnx" if runtime is _onnx else "litert"]), z, labels)
                        self.assertEqual(got.dtype, np.float32)
                        self.assertEqual(got.shape, want.shape, (runtime.__name__, n))
                        np.testing.assert_allclose(got, want, atol=2e-5,
                                                   err_msg=f"{runtime.__name__} N={n}")
                if name == "biggan_deep":
                    # Truncation is z scaled by the caller: the SavedModel's `truncated`.
                    z, labels = _inputs(4, num_classes, seed=3)
                    want = _saved_model(signatures["truncated"], z, labels,
                                        truncation=tf.constant(0.4))
                    np.testing.assert_allclose(
                        _onnx(os.path.join(path, "generator.onnx"), 0.4 * z, labels), want,
                        atol=2e-5)
                    self.assertGreater(np.abs(want - _saved_model(serve, z, labels)).max(),
                                       1e-3)  # truncation changed the images

    def test_onnx_interface_opset_and_class_names(self):
        make, num_classes = FAMILIES["resnet"]
        path = export.export_generator(_trained(make, num_classes),
                                       os.path.join(self.dir, "interface"), Z, num_classes,
                                       formats=("onnx",), class_names=("cat", "dog", "cow"))
        self.assertEqual(export.read_metadata(path)["class_names"], ["cat", "dog", "cow"])
        model = onnx.load(os.path.join(path, "generator.onnx"))
        onnx.checker.check_model(model, full_check=True)
        self.assertEqual({o.domain: o.version for o in model.opset_import}[""],
                         export_formats.ONNX_OPSET)

        def dims(value):
            return [d.dim_value or None for d in value.type.tensor_type.shape.dim]

        inputs = {i.name: i for i in model.graph.input}
        self.assertEqual(sorted(inputs), ["labels", "z"])
        self.assertEqual(dims(inputs["z"]), [None, Z])
        self.assertEqual(inputs["labels"].type.tensor_type.elem_type, onnx.TensorProto.INT32)
        self.assertEqual([(o.name, dims(o)) for o in model.graph.output],
                         [("images", [None, 16, 16, 3])])


class BFloat16Test(tf.test.TestCase):

    def test_a_bfloat16_generator_exports_float32_files(self):
        # Exported under the bfloat16 policy, as at the end of a training run: layers that
        # build sublayers when first called must not take it.
        with precision.global_policy("mixed_bfloat16"):
            g = _trained(FAMILIES["resnet"][0], C)
            path = export.export_generator(g, os.path.join(self.get_temp_dir(), "bf16"), Z, C,
                                           formats=("onnx", "litert"))
        model = onnx.load(os.path.join(path, "generator.onnx"))
        self.assertEqual({t.data_type for t in model.graph.initializer
                          if t.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.BFLOAT16,
                                             onnx.TensorProto.FLOAT16)},
                         {onnx.TensorProto.FLOAT})
        z, labels = _inputs(4, C, seed=5)
        # The float32 network of the same weights, computed by Keras.
        with precision.global_policy("float32"):
            reference = FAMILIES["resnet"][0]()
        reference(tf.constant(z), tf.constant(labels), training=False)
        reference.set_weights(g.get_weights())
        want = reference(tf.constant(z), tf.constant(labels), training=False).numpy()
        for runtime, name in ((_onnx, "generator.onnx"), (_litert, "generator.tflite")):
            np.testing.assert_allclose(runtime(os.path.join(path, name), z, labels), want,
                                       atol=2e-5, err_msg=name)
        # ... and the SavedModel (bfloat16 compute) only to bfloat16's precision.
        served = _saved_model(tf.saved_model.load(path).signatures["serving_default"], z,
                              labels)
        self.assertAllClose(served, want, atol=0.05)
        self.assertGreater(np.abs(served - want).max(), 1e-5)


if __name__ == "__main__":
    tf.test.main()
