"""Requests as TF Serving receives them, converted to tensors the way TF Serving converts them,
against the exported signatures. No TF Serving binary exists on these machines; the conversion
below follows TF Serving's documented REST (row and columnar JSON) and gRPC (TensorProto) rules."""

import base64
import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from tfgan_fast.export import saved_model as export
from tfgan_fast.export import serving
from tfgan_fast.nets import ResNetGenerator


def rest_inputs(body, signature):
    """TF Serving's REST decoding: each named input becomes one tensor of the signature's dtype;
    in the row format the instances' values are stacked along a new batch axis."""
    specs = signature.structured_input_signature[1]
    if "instances" in body:
        columns = {name: [instance[name] for instance in body["instances"]] for name in specs}
    else:
        columns = body["inputs"]
    return {name: tf.constant(np.asarray(columns[name], specs[name].dtype.as_numpy_dtype))
            for name in specs}


def rest_response(outputs, row_format):
    """TF Serving's REST encoding: a `*_bytes` output as `{"b64": ...}`, one prediction per row
    (row format) or the whole tensors (columnar)."""
    def encode(name, value):
        if name.endswith("_bytes"):
            return [{"b64": base64.b64encode(v).decode("ascii")} for v in value.numpy()]
        return value.numpy().tolist()

    encoded = {name: encode(name, value) for name, value in outputs.items()}
    if not row_format:
        return {"outputs": encoded if len(encoded) > 1 else next(iter(encoded.values()))}
    if len(encoded) == 1:
        return {"predictions": next(iter(encoded.values()))}
    n = len(next(iter(encoded.values())))
    return {"predictions": [{k: v[i] for k, v in encoded.items()} for i in range(n)]}


class ServingRequestTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.g = ResNetGenerator(resolution=32, channels=1, width=8, z_dim=8, num_classes=10)
        cls.g(tf.zeros([2, 8]), tf.zeros([2], tf.int32), training=True)
        cls.dir = tempfile.mkdtemp()
        base = os.path.join(cls.dir, "export")
        export.export_version(cls.g, base, 1200, z_dim=8, num_classes=10)
        cls.model = tf.saved_model.load(export.resolve_saved_model(base))
        cls.z = serving.latents(3, 8, seed=4)
        cls.labels = [0, 7, 9]
        cls.want = cls.g(tf.constant(cls.z), tf.constant(cls.labels), training=False).numpy()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def _rest(self, body):
        body = json.loads(json.dumps(body))  # what goes over the wire
        signature = self.model.signatures[body["signature_name"]]
        outputs = signature(**rest_inputs(body, signature))
        return json.loads(json.dumps(rest_response(outputs, "instances" in body)))

    def test_rest_row_format(self):
        response = self._rest(serving.rest_request(self.z, self.labels))
        images = np.asarray(response["predictions"], np.float32)
        self.assertEqual(images.shape, (3, 32, 32, 1))  # NHWC floats in [-1, 1]
        self.assertAllClose(images, self.want, atol=1e-6)

    def test_rest_columnar_format(self):
        response = self._rest(serving.rest_request(self.z, self.labels, columnar=True))
        self.assertAllClose(np.asarray(response["outputs"], np.float32), self.want, atol=1e-6)

    def test_rest_png_signature_returns_base64_pngs(self):
        response = self._rest(serving.rest_request(self.z, self.labels, signature="png"))
        self.assertEqual(sorted(response["predictions"][0]), ["b64"])
        images = serving.decode_png_predictions(response)
        self.assertEqual(images.dtype, np.uint8)
        np.testing.assert_array_equal(
            images, np.clip(np.round((self.want + 1.0) * 127.5), 0, 255).astype(np.uint8))

    def test_grpc_predict_request(self):
        request = serving.grpc_request(self.z, self.labels)
        self.assertEqual((request.model_spec.name, request.model_spec.signature_name),
                         ("generator", "serving_default"))
        request = type(request).FromString(request.SerializeToString())  # over the wire
        inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        self.assertEqual((inputs["z"].dtype, inputs["labels"].dtype), (np.float32, np.int32))
        outputs = self.model.signatures[request.model_spec.signature_name](**inputs)
        from tensorflow_serving.apis import predict_pb2  # pylint: disable=import-outside-toplevel
        response = predict_pb2.PredictResponse()
        response.outputs["images"].CopyFrom(tf.make_tensor_proto(outputs["images"]))
        self.assertAllClose(tf.make_ndarray(response.outputs["images"]), self.want, atol=1e-6)


if __name__ == "__main__":
    tf.test.main()
