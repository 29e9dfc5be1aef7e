"""ONNX and LiteRT (TFLite) files of a generator, written beside its SavedModel.

`export/<version>/generator.onnx` and `export/<version>/generator.tflite` compute what the
SavedModel's `serving_default` signature computes (see `tfgan_fast.export.saved_model`):

* inputs `z` float32 `[N, z_dim]` and `labels` int32 `[N]` (an unconditional model takes `z`
  only), N free (0 included);
* output `images` float32 `[N, H, W, C]` in [-1, 1] (NHWC; `[N, channels]` for a generator of
  2-D points).

Truncation (the SavedModel's `truncated` signature) is `z` scaled by the caller. Unlike the
SavedModel, these files do not check their inputs: a label out of `[0, C)` is an index out of
range for the runtime.

Both start from one traced function of G in inference mode with `[None, z_dim]` / `[None]`
inputs: ONNX through tf2onnx's `from_function` (the route Keras' own `export(format="onnx")`
takes; `tf2onnx.convert.from_keras` and Keras' exporter do not handle our two-input subclassed
models, and tf2onnx's SavedModel route fails on the SavedModel's shape-free signatures), LiteRT
through `tf.lite.TFLiteConverter` with the built-in ops only (no Flex delegate needed on the
device). A generator trained under `mixed_bfloat16` is rebuilt in float32 with the same
weights first: the files hold float32 weights and run float32 kernels, as runtimes expect.

A network with an op that a format cannot express fails with `ConversionError`, one line naming
the op(s) and the format.
"""

import collections
import contextlib
import logging
import os
import re
import tempfile

import keras
import tensorflow as tf

from tfgan_fast.runtime import precision

ONNX_OPSET = 17
FILES = {"onnx": "generator.onnx", "litert": "generator.tflite"}
ALIASES = {"tflite": "litert"}


class ConversionError(ValueError):
    """The generator holds an op the format cannot express."""

    def __init__(self, fmt, ops):
        self.format, self.ops = fmt, sorted(ops)
        super().__init__(f"cannot export the generator to {fmt}: no {fmt} conversion for the "
                         f"TensorFlow op(s) {', '.join(self.ops)}")


def normalise_formats(formats):
    """`formats` (names, or one comma-separated string) as canonical names, in order.

    Raises:
        ValueError: an unknown name (one line, naming it and the known ones).
    """
    if isinstance(formats, str):
        formats = [f for f in formats.split(",") if f.strip()]
    found = []
    for name in formats:
        key = ALIASES.get(name.strip().lower(), name.strip().lower())
        if key not in FILES:
            raise ValueError(f"unknown export format {name!r}; known: "
                             f"{', '.join(sorted(FILES))} (tflite is litert)")
        if key not in found:
            found.append(key)
    return found


def float32_generator(generator, z_dim, num_classes):
    """`generator` if it computes in float32, else a float32 copy with the same weights."""
    # Every layer's policy, not only the model's: a layer takes the global policy in force
    # when it is created, which for sublayers made on the first call may differ.
    if all(layer.dtype_policy.compute_dtype == "float32"
           for layer in generator._flatten_layers()):  # pylint: disable=protected-access
        return generator
    config = generator.get_config()
    config.pop("dtype", None)
    # Built under the float32 policy too: some layers create their sublayers when first called.
    with precision.global_policy("float32"):
        clone = type(generator).from_config(config)
        clone(tf.zeros([1, int(z_dim)]), tf.zeros([1], tf.int32) if num_classes else None,
              training=False)
    clone.set_weights(generator.get_weights())
    return clone


def inference_function(generator, z_dim, num_classes):
    """G in inference mode as a `tf.function` of `z` `[None, z_dim]` (and `labels` `[None]`),
    returning `{"images": float32}`, on a float32 copy of G (see `float32_generator`).

    N = 0 gets an empty batch, as from the SavedModel: G runs on one padding row, sliced
    off. Some kernels fail on empty tensors (ONNX Runtime's Reshape in self-attention, LiteRT's
    XNNPack), and a `tf.cond` around G does not convert (tf2onnx leaves invalid nodes in the
    branches)."""
    g = float32_generator(generator, z_dim, num_classes)

    def images(z, labels):
        n = tf.shape(z)[0]
        rows = tf.maximum(n, 1)
        z = tf.concat([z, tf.zeros([1, int(z_dim)])], 0)[:rows]
        if labels is not None:
            labels = tf.concat([labels, tf.zeros([1], tf.int32)], 0)[:rows]
        return {"images": tf.cast(g(z, labels, training=False), tf.float32)[:n]}

    z_spec = tf.TensorSpec([None, int(z_dim)], tf.float32, name="z")
    if num_classes:
        generate = tf.function(images, input_signature=[
            z_spec, tf.TensorSpec([None], tf.int32, name="labels")])
    else:
        generate = tf.function(lambda z: images(z, None), input_signature=[z_spec])
    generate.generator = g  # keeps the float32 copy's variables alive for the converters
    return generate


@contextlib.contextmanager
def _quiet_logger(name):
    """tf2onnx logs every op it cannot convert as an ERROR; we raise with them instead."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def to_onnx(generator, path, z_dim, num_classes, opset=ONNX_OPSET):
    """Writes `path` (an ONNX model of opset `opset`); returns `path`.

    Raises:
        ConversionError: G has ops that tf2onnx leaves untranslated.
    """
    try:
        import onnx  # pylint: disable=import-outside-toplevel
        import tf2onnx  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        raise ImportError(f"ONNX export needs tf2onnx and onnx ({e}): "
                          "pip install 'tfgan_fast[onnx]'") from e

    fn = inference_function(generator, z_dim, num_classes)
    with _quiet_logger("tf2onnx"):
        model, _ = tf2onnx.convert.from_function(fn, input_signature=fn.input_signature,
                                                 opset=opset)
    # tf2onnx keeps an op it cannot translate as a node of TensorFlow's name in the default
    # domain and only logs it: ask ONNX which nodes it does not know.
    unknown = collections.Counter(
        node.op_type for node in model.graph.node
        if not onnx.defs.has(node.op_type, node.domain or ""))
    if unknown:
        raise ConversionError("ONNX", unknown)
    _write_atomically(path, model.SerializeToString())
    return path


def to_litert(generator, path, z_dim, num_classes):
    """Writes `path` (a LiteRT / TFLite flatbuffer of built-in ops); returns `path`.

    Raises:
        ConversionError: G has ops without a LiteRT built-in kernel.
    """
    fn = inference_function(generator, z_dim, num_classes)
    # From a SavedModel of the one endpoint, as Keras' own LiteRT export does: converting the
    # concrete function directly freezes the variables wrongly (constant garbage out).
    # The endpoint tracks the variables it uses (tracking G would also trace Keras' default
    # one-input signature, which calls G without labels).
    archive = keras.export.ExportArchive()
    archive.add_endpoint("serving_default", fn, input_signature=fn.input_signature)
    with tempfile.TemporaryDirectory() as tmp:
        archive.write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        try:
            flatbuffer = converter.convert()
        except Exception as e:  # pylint: disable=broad-except
            ops = _litert_unsupported_ops(str(e))
            if not ops:
                raise
            raise ConversionError("LiteRT", ops) from None
    _write_atomically(path, flatbuffer)
    return path


def run_litert(interpreter, z, labels=None):
    """`images` of a LiteRT generator for `z` `[N, z_dim]` (and `labels` `[N]`): resizes the
    inputs to N and runs (the signature runner refuses N = 0; this works for any N).

    Args:
        interpreter: an `ai_edge_litert.interpreter.Interpreter` (or `tf.lite.Interpreter`)
            of a `generator.tflite`.
    """
    import numpy as np  # pylint: disable=import-outside-toplevel

    feeds = {"z": np.asarray(z, np.float32)}
    if labels is not None:
        feeds["labels"] = np.asarray(labels, np.int32)
    details = interpreter.get_signature_runner().get_input_details()
    for name, value in feeds.items():
        interpreter.resize_tensor_input(details[name]["index"], value.shape, strict=False)
    interpreter.allocate_tensors()
    for name, value in feeds.items():
        interpreter.set_tensor(details[name]["index"], value)
    interpreter.invoke()
    output = interpreter.get_signature_runner().get_output_details()["images"]
    return interpreter.get_tensor(output["index"])


def _litert_unsupported_ops(text):
    """The ops a ConverterError's text (an MLIR dump) names: its "Custom ops:" line and its
    "'tf.Op' op is neither a custom op nor a flex op" lines."""
    ops = set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", text))
    for line in re.findall(r"(?:Custom|Flex) ops: (.*)", text):
        ops.update(op.strip() for op in line.split(","))
    return ops


def _write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


WRITERS = {"onnx": to_onnx, "litert": to_litert}


def export_formats(generator, version_dir, z_dim, num_classes, formats):
    """Writes each of `formats` (see `normalise_formats`) into `version_dir` (an export
    version's directory). Returns `{format: path}`."""
    return {fmt: WRITERS[fmt](generator, os.path.join(version_dir, FILES[fmt]), z_dim,
                              num_classes)
            for fmt in normalise_formats(formats)}
