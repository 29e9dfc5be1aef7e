"""SavedModel export of a generator for TF Serving.

Layout: a run exports to `DIR/export/<version>/` with the iteration as the version (the newest
three are kept), which is what TF Serving's `--model_base_path=DIR/export` serves: it loads the
highest version and picks up new ones as they appear.

Signatures (conditional models; an unconditional model has no `labels` input):

* `serving_default(z, labels)`: `z` float32 `[N, z_dim]`, `labels` int32 `[N]` in `[0, C)`
  (shapes checked in the graph);
  output `images` float32 `[N, H, W, C]` in [-1, 1] (NHWC).
* `truncated(z, labels, truncation)`: the same for `truncation * z`, `truncation` a float32
  scalar (the truncation trick of BigGAN / Wu et al. 2019, §5.2.4: s in (0, 1] trades
  diversity for fidelity, s = 0 gives one image per label).
* `png(z, labels)`: output `images_png_bytes` string `[N]`, one PNG per row (uint8); TF
  Serving's REST API returns such `_bytes` outputs as `{"b64": "..."}`. Only for generators of
  images (`[H, W, C]` outputs): a generator of 2-D points has no `png` signature.

`assets.extra/tfgan_fast.json` holds `z_dim`, `num_classes`, `image_shape` and, where the data
set names its classes, `class_names` for clients. Asked for, `generator.onnx` and
`generator.tflite` (LiteRT) sit beside `saved_model.pb` (see `tfgan_fast.export.formats`).

Bad inputs fail with one line naming the input, what it must be and what it was: a wrong `z`
width or rank, labels that are not a vector, labels out of range, different batch sizes, a
non-finite `z`. The signatures declare the inputs' dtypes but not their shapes, which the graph
checks itself. A wrong dtype is refused by TensorFlow before the graph runs (its message names the
expected and the received dtype). An empty batch gives an empty `[0, H, W, C]` batch.
"""

import json
import os
import re
import shutil

import keras
import tensorflow as tf

from tfgan_fast.export import formats as export_formats
from tfgan_fast.runtime import fileio

PNG_OUTPUT = "images_png_bytes"
# z's width, the class count and the image shape, beside the SavedModel.
METADATA = os.path.join("assets.extra", "tfgan_fast.json")
_VERSION = re.compile(r"^\d+$")


class GeneratorServing:
    """The generator in inference mode behind validated serving functions."""

    def __init__(self, generator, z_dim, num_classes, image_shape):
        self.generator = generator
        self.z_dim = int(z_dim)
        self.num_classes = int(num_classes)
        self.image_shape = tuple(int(s) for s in image_shape)
        # The signature leaves the shapes open and the graph checks them: with declared shapes,
        # the graph is optimised for them and a wrong shape fails deep inside with a message
        # that names no input.
        self.z_spec = tf.TensorSpec(None, tf.float32, name="z")
        self.labels_spec = tf.TensorSpec(None, tf.int32, name="labels")
        self.truncation_spec = tf.TensorSpec([], tf.float32, name="truncation")

    def _checks(self, z, labels):
        """Assertions with one-line messages (the input, what it must be, what it was), each
        run after the one before, so that the first broken rule is the one reported."""
        rules = [(tf.logical_and(tf.equal(tf.rank(z), 2),
                                 tf.equal(tf.reduce_prod(tf.shape(z)[1:]), self.z_dim)),
                  lambda: [f"z must have shape [N, {self.z_dim}] (float32); got shape",
                           tf.shape(z)])]
        if self.num_classes:
            flat = tf.reshape(labels, [-1])
            bad = tf.logical_or(flat < 0, flat >= self.num_classes)
            rules += [
                (tf.equal(tf.rank(labels), 1),
                 lambda: ["labels must have shape [N] (int32 class ids); got shape",
                          tf.shape(labels)]),
                (tf.equal(tf.shape(z)[0], tf.size(labels)),
                 lambda: ["z and labels must have the same batch size; got", tf.shape(z)[0],
                          "and", tf.size(labels)]),
                (tf.logical_not(tf.reduce_any(bad)),
                 lambda: [f"labels must be in [0, {self.num_classes}); got",
                          tf.boolean_mask(flat, bad)]),
            ]
        rules.append((tf.reduce_all(tf.math.is_finite(z)),
                      lambda: ["z must be finite (no NaN or Inf)"]))
        check = tf.no_op()
        for condition, data in rules:
            with tf.control_dependencies([check]):
                check = tf.debugging.Assert(condition, data())
        return [check]

    def images(self, z, labels=None):
        """Float32 `[N, H, W, C]` in [-1, 1] after the checks; `[0, H, W, C]` for N = 0."""
        with tf.control_dependencies(self._checks(z, labels)):
            # Static shapes for the network from reshapes: an EnsureShape would let Grappler
            # assume the shape upstream too and fold the checks above away.
            z = tf.reshape(tf.identity(z), [-1, self.z_dim])
            if self.num_classes:
                labels = tf.reshape(tf.identity(labels), [-1])

        def generate():
            out = self.generator(z, labels if self.num_classes else None, training=False)
            return tf.cast(out, tf.float32)

        # Some kernels mis-shape empty batches: answer N = 0 without running the network.
        return tf.cond(tf.shape(z)[0] > 0, generate,
                       lambda: tf.zeros((0,) + self.image_shape, tf.float32))

    def png(self, images):
        """One PNG (uint8) per image: string `[N]`."""
        pixels = tf.cast(tf.round(tf.clip_by_value((images + 1.0) * 127.5, 0.0, 255.0)),
                         tf.uint8)
        return tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)

    def endpoints(self):
        """`{name: (fn, input_signature)}` for the conditional or the unconditional model."""
        if self.num_classes:
            endpoints = {
                "serving_default": (lambda z, labels: {"images": self.images(z, labels)},
                                    [self.z_spec, self.labels_spec]),
                "truncated": (
                    lambda z, labels, truncation: {
                        "images": self.images(z * truncation, labels)},
                    [self.z_spec, self.labels_spec, self.truncation_spec]),
                "png": (lambda z, labels: {PNG_OUTPUT: self.png(self.images(z, labels))},
                        [self.z_spec, self.labels_spec]),
            }
        else:
            endpoints = {
                "serving_default": (lambda z: {"images": self.images(z)}, [self.z_spec]),
                "truncated": (lambda z, truncation: {"images": self.images(z * truncation)},
                              [self.z_spec, self.truncation_spec]),
                "png": (lambda z: {PNG_OUTPUT: self.png(self.images(z))}, [self.z_spec]),
            }
        if len(self.image_shape) != 3:  # not images (2-D points): nothing to encode as PNG
            del endpoints["png"]
        return endpoints


def export_generator(generator, path, z_dim, num_classes, formats=(), class_names=None):
    """Writes the generator's SavedModel to `path` atomically (a temporary sibling, a rename).

    Args:
        formats: other formats written into `path` too (`"onnx"`, `"litert"`; see
            `export_formats.normalise_formats`).
        class_names: the data set's names of the classes, recorded for clients.

    Returns:
        `path`.
    """
    z = tf.zeros([1, int(z_dim)])
    labels = tf.zeros([1], tf.int32) if num_classes else None
    image_shape = generator(z, labels, training=False).shape[1:]
    serving = GeneratorServing(generator, z_dim, num_classes, image_shape)
    # The endpoints track the variables they use. Tracking the Keras model itself (or saving a
    # tf.Module that holds it) would also trace Keras' one-input default signature, which calls
    # G without labels.
    archive = keras.export.ExportArchive()
    for name, (fn, signature) in serving.endpoints().items():
        archive.add_endpoint(name=name, fn=fn, input_signature=signature)

    def write(tmp):
        archive.write_out(tmp, verbose=False)
        # What the shape-free signatures do not say, for clients (TF Serving ignores it).
        os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
        metadata = {"z_dim": int(z_dim), "num_classes": int(num_classes),
                    "image_shape": list(serving.image_shape)}
        if class_names and num_classes:
            metadata["class_names"] = [str(name) for name in class_names][:int(num_classes)]
        with open(os.path.join(tmp, METADATA), "w", encoding="utf-8") as f:
            json.dump(metadata, f)
        if formats:
            export_formats.export_formats(generator, tmp, z_dim, num_classes, formats)

    return fileio.replace_dir_atomically(path, write)


def read_metadata(path):
    """`{"z_dim", "num_classes", "image_shape"}` (and `"class_names"` if recorded) of an
    exported SavedModel."""
    with open(os.path.join(path, METADATA), encoding="utf-8") as f:
        return json.load(f)


def export_metadata(path, signature):
    """`read_metadata(path)`, or for an export of an older tfgan_fast (no metadata file) what
    its `serving_default` signature tells: `z_dim` from a static `[N, z_dim]` z.

    Raises:
        ValueError: neither gives z's size (one line, naming the export).
    """
    if os.path.isfile(os.path.join(path, METADATA)):
        return read_metadata(path)
    z = signature.structured_input_signature[1].get("z")
    if z is None or z.shape.rank != 2 or z.shape[-1] is None:
        raise ValueError(f"{path} has no {METADATA} and its signature does not give z's size: "
                         "is it a tfgan_fast generator export?")
    return {"z_dim": int(z.shape[-1])}


def versions(base_dir):
    """The numeric version directories of `base_dir` that hold a SavedModel, oldest first."""
    if not os.path.isdir(base_dir):
        return []
    found = [int(name) for name in os.listdir(base_dir) if _VERSION.match(name)
             and os.path.isfile(os.path.join(base_dir, name, "saved_model.pb"))]
    return sorted(found)


def export_version(generator, base_dir, version, z_dim, num_classes, keep=3, formats=(),
                   class_names=None):
    """Exports to `base_dir/<version>/` (TF Serving's layout) and keeps the newest `keep`;
    `formats` and `class_names` as for `export_generator`.

    Returns:
        The version's path.
    """
    path = export_generator(generator, os.path.join(base_dir, str(int(version))), z_dim,
                            num_classes, formats, class_names)
    for old in versions(base_dir)[:-keep] if keep else []:
        shutil.rmtree(os.path.join(base_dir, str(old)), ignore_errors=True)
    return path


def resolve_saved_model(path):
    """`path` if it holds a SavedModel, else its newest numeric version (`DIR/export` ->
    `DIR/export/<newest>`).

    Raises:
        FileNotFoundError: neither.
    """
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    found = versions(path)
    if not found:
        raise FileNotFoundError(f"no SavedModel in {path!r} nor in a numeric version directory "
                                "below it (DIR/export/<iteration>/)")
    return os.path.join(path, str(found[-1]))
