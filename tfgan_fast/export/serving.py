"""Requests for a generator served by TF Serving (see docs/export.md, "Serving with TF Serving").

REST (`POST http://HOST:8501/v1/models/<name>:predict`) takes JSON in the row format
`{"signature_name": ..., "instances": [{"z": [...], "labels": 3}, ...]}` or the columnar format
`{"signature_name": ..., "inputs": {"z": [[...], ...], "labels": [...]}}`; gRPC
(`PredictionService.Predict`, port 8500) takes a `PredictRequest` whose inputs are TensorProtos.
The helpers here build both from numpy arrays; `decode_png_predictions` turns the `png`
signature's REST answer back into images.
"""

import base64

import numpy as np


def latents(num, z_dim, seed=0, distribution="normal"):
    """`num` latents `[num, z_dim]` float32 (N(0, 1), or U(-1, 1) for LOGAN's models)."""
    rng = np.random.default_rng(seed)
    if distribution == "uniform":
        return rng.uniform(-1.0, 1.0, (num, z_dim)).astype(np.float32)
    return rng.standard_normal((num, z_dim)).astype(np.float32)


def rest_request(z, labels=None, signature="serving_default", columnar=False):
    """The JSON body (a dict) of a REST predict request for `z` `[N, z_dim]` and `labels` `[N]`
    (None for an unconditional model)."""
    z = np.asarray(z, np.float32)
    if columnar:
        inputs = {"z": z.tolist()}
        if labels is not None:
            inputs["labels"] = [int(y) for y in labels]
        return {"signature_name": signature, "inputs": inputs}
    if labels is None:
        instances = [{"z": row.tolist()} for row in z]
    else:
        instances = [{"z": row.tolist(), "labels": int(y)} for row, y in zip(z, labels)]
    return {"signature_name": signature, "instances": instances}


def grpc_request(z, labels=None, model_name="generator", signature="serving_default"):
    """A `tensorflow_serving.apis.predict_pb2.PredictRequest` (pip install
    'tfgan_fast[serving]')."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tensorflow_serving.apis import predict_pb2  # pylint: disable=import-outside-toplevel

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature
    request.inputs["z"].CopyFrom(tf.make_tensor_proto(np.asarray(z, np.float32)))
    if labels is not None:
        request.inputs["labels"].CopyFrom(tf.make_tensor_proto(np.asarray(labels, np.int32)))
    return request


def decode_png_predictions(response):
    """The `png` signature's REST answer (`{"predictions": [{"b64": ...}, ...]}`) as uint8
    images `[N, H, W, C]`."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    return np.stack([tf.io.decode_png(base64.b64decode(p["b64"])).numpy()
                     for p in response["predictions"]])
