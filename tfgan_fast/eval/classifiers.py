"""Classifiers for IS / FID / KID behind one interface.

Every classifier maps images float32 `[N, H, W, C]` in [-1, 1] to `(logits [N, K], features
[N, F])` float32 (`features` is the layer FID and KID use, e.g. Inception's pool_3) and adapts the
images to its input first: bilinear resize to its resolution, grey-scale tiled to 3 channels (or
RGB averaged to 1). Each has

* `identity`: a string that names the classifier *and its weights*; cached real statistics carry it
  and are refused under another identity (`stats.py`), since features of different networks are
  not comparable;
* `display_name`: None for the standard Inception network, else a name such as
  "fashion-mnist classifier"; `qualify("FID")` gives "FID (fashion-mnist classifier)", so numbers
  from a non-Inception network are never reported as plain FID.

Classes (all gin-configurable):
    InceptionClassifier: TF-GAN's Inception from TF-Hub (default) or a local copy (offline).
    SavedModelClassifier: any SavedModel signature with logits and features outputs, e.g. the
        small classifiers written by `tools/train_classifier.py`.
    KerasClassifier: an in-memory Keras model.
"""

import hashlib
import json
import os
import re
import socket
import tempfile
import time
import urllib.parse

import gin
import keras
import numpy as np
import tensorflow as tf

from tfgan_fast.runtime.errors import RunError

INCEPTION_URL = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
INCEPTION_IDENTITY = "tfhub:tensorflow/tfgan/eval/inception/1"
# Written next to a SavedModel by tools/train_classifier.py; read by SavedModelClassifier.
METADATA_FILENAME = "tfgan_fast_classifier.json"
PROBE_TIMEOUT_S = 3.0
# `--classifier_path=packaged:fashion_mnist` names a classifier shipped in the package.
PACKAGED_PREFIX = "packaged:"


class ClassifierError(RunError, RuntimeError):
    """A classifier cannot be loaded or does not fit the interface; the message says why."""


def adapt_images(images, height, width, channels):
    """Resizes (bilinear) and converts channels of `[N, h, w, c]` images in [-1, 1].

    Args:
        images: float `[N, h, w, c]`, c in {1, 3}.
        height, width: target size; None keeps the input size.
        channels: target channels (1 or 3); None keeps the input channels.

    Returns:
        float32 `[N, height, width, channels]`.
    """
    images = tf.cast(images, tf.float32)
    c = images.shape[-1]
    if channels is not None and c != channels:
        if c == 1 and channels == 3:
            images = tf.tile(images, [1, 1, 1, 3])  # grey-scale tiled, as for Inception (§5)
        elif c == 3 and channels == 1:
            images = tf.image.rgb_to_grayscale(images)  # linear, so [-1, 1] stays [-1, 1]
        else:
            raise ClassifierError(f"cannot feed {c}-channel images to a {channels}-channel "
                                  "classifier")
    if height is not None and width is not None and (
            images.shape[1] != height or images.shape[2] != width):
        images = tf.image.resize(images, [height, width], method="bilinear")
    return images


def _flatten(x):
    x = tf.cast(x, tf.float32)
    return tf.reshape(x, [tf.shape(x)[0], -1])


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


class Classifier:
    """Base class: subclasses set `identity`, `display_name`, `input_shape` and `_run`.

    Attributes:
        identity: names the network and its weights (used in statistics cache keys).
        display_name: None for Inception, else how results are labelled ("... classifier").
        input_shape: `(H, W, C)` the network expects; None dimensions are not adapted.
    """

    identity = None
    display_name = None
    input_shape = (None, None, None)

    def _run(self, images):
        """`images` already adapted -> `(logits, features)` tensors."""
        raise NotImplementedError

    def _classify(self, images):
        h, w, c = self.input_shape
        logits, features = self._run(adapt_images(images, h, w, c))
        return _flatten(logits), _flatten(features)

    def __call__(self, images):
        """Classifies a batch.

        Args:
            images: float `[N, H, W, C]` in [-1, 1]; any size and 1 or 3 channels.

        Returns:
            `(logits float32 [N, K], features float32 [N, F])`.
        """
        if getattr(self, "_fn", None) is None:
            self._fn = tf.function(self._classify, reduce_retracing=True)
        return self._fn(tf.convert_to_tensor(images))

    @property
    def slug(self):
        """A TensorBoard-safe short name: "inception", "fashion_mnist_classifier", ..."""
        return _slug(self.display_name) if self.display_name else "inception"

    def qualify(self, metric):
        """"FID" -> "FID (fashion-mnist classifier)"; unchanged for the Inception network."""
        return f"{metric} ({self.display_name})" if self.display_name else metric

    def __repr__(self):
        return f"{type(self).__name__}(identity={self.identity!r})"


# --- Inception from TF-Hub ------------------------------------------------------------------


def _host_reachable(url, timeout=PROBE_TIMEOUT_S):
    """Whether a TCP connection to `url`'s host opens within `timeout` seconds (no HTTP).

    TF-Hub's downloader has long timeouts and retries; this handshake tells "offline" from
    "online" in at most `timeout` seconds.
    """
    parsed = urllib.parse.urlsplit(url)
    if not parsed.hostname:
        return False
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_cache_dir():
    """Where `tensorflow_hub` caches downloads: `$TFHUB_CACHE_DIR`, else `<tmp>/tfhub_modules`."""
    return (os.environ.get("TFHUB_CACHE_DIR")
            or os.path.join(tempfile.gettempdir(), "tfhub_modules"))


def hub_cache_path(url):
    """The directory `tensorflow_hub` extracts `url` to: `<cache>/<sha1(url)>`."""
    return os.path.join(hub_cache_dir(), hashlib.sha1(url.encode("utf8")).hexdigest())


def _is_cached(url):
    path = hub_cache_path(url)
    return os.path.isdir(path) and bool(os.listdir(path))


def _offline_advice(url):
    return (f"Offline options: (1) pass a local copy of the SavedModel, "
            f"InceptionClassifier.path_or_url='/path/to/inception' (tools: "
            f"--classifier_path=/path/to/inception --inception); get it on a machine with "
            f"network from "
            f"{url}?tf-hub-format=compressed (a .tar.gz, unpack it); or (2) fill the TF-Hub cache "
            f"on a machine with network (`TFHUB_CACHE_DIR=DIR python -c \"import tensorflow_hub "
            f"as hub; hub.resolve('{url}')\"`), copy DIR here and set TFHUB_CACHE_DIR=DIR "
            f"(now {os.environ.get('TFHUB_CACHE_DIR') or 'unset'}; looked for "
            f"{hub_cache_path(url)}); or (3) use a small local classifier "
            "(tools/train_classifier.py, then SavedModelClassifier.path=...), whose results are "
            "not Inception FID/IS.")


@gin.configurable
class InceptionClassifier(Classifier):
    """TF-GAN's Inception network (logits `[N, 1008]`, pool_3 features `[N, 2048]`).

    Images are resized bilinearly to 299x299 and grey-scale is tiled to 3 channels (Zhong et al.
    2020, App. B.3). The network is loaded once, at construction, so a bad location fails before any
    training.

    Args:
        path_or_url: a TF-Hub URL (default: TF-GAN's module; downloads are cached in
            `TFHUB_CACHE_DIR`) or a local directory holding the same SavedModel, for offline
            machines.
        identity: the statistics cache identity. A local path is assumed to be a copy of TF-GAN's
            module; pass another identity if it is a different network.
        probe_timeout: seconds for the TCP probe of the TF-Hub host (only when the URL is not
            cached).

    Raises:
        ClassifierError: the host is unreachable and nothing is cached (within `probe_timeout`
            seconds, naming the offline options), the local path is missing, or loading failed.
    """

    input_shape = (299, 299, 3)

    def __init__(self, path_or_url=INCEPTION_URL, identity=INCEPTION_IDENTITY,
                 probe_timeout=PROBE_TIMEOUT_S):
        self.path_or_url = path_or_url
        self.identity = identity
        self.display_name = None
        scheme = urllib.parse.urlsplit(path_or_url).scheme
        if scheme in ("http", "https"):
            if not _is_cached(path_or_url):
                t0 = time.time()
                if not _host_reachable(path_or_url, timeout=probe_timeout):
                    host = urllib.parse.urlsplit(path_or_url).hostname
                    raise ClassifierError(
                        f"Cannot load the Inception classifier from {path_or_url}: host {host} "
                        f"is unreachable (TCP probe failed after {time.time() - t0:.1f} s) and "
                        f"the module is not in the TF-Hub cache. {_offline_advice(path_or_url)}")
        elif scheme in ("", "file"):
            local = path_or_url[len("file://"):] if scheme == "file" else path_or_url
            local = os.path.expanduser(local)
            if not os.path.isdir(local):
                raise ClassifierError(f"InceptionClassifier: local path {local!r} is not a "
                                      "directory (expected the SavedModel of "
                                      f"{INCEPTION_URL}).")
            path_or_url = local
        import tensorflow_hub as hub  # pylint: disable=import-outside-toplevel  # only here
        try:
            self._module = hub.load(path_or_url)
        except Exception as e:  # pylint: disable=broad-except  # re-raised with the way out
            raise ClassifierError(f"Loading the Inception classifier from {path_or_url} failed: "
                                  f"{type(e).__name__}: {e}. {_offline_advice(INCEPTION_URL)}"
                                  ) from e

    def _run(self, images):
        # The call TF-GAN itself makes (classifier_fn_from_tfhub): a dict of output tensors.
        out = self._module(images)
        return out["logits"], out["pool_3"]


# --- SavedModel and Keras classifiers ----------------------------------------------------------


def _file_digest(paths):
    h = hashlib.sha1()
    for p in paths:
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:12]


def read_metadata(path):
    """The metadata JSON written next to a SavedModel by `export_classifier`, or {}."""
    meta_path = os.path.join(path, METADATA_FILENAME)
    if not os.path.isfile(meta_path):
        return {}
    with open(meta_path, encoding="utf-8") as f:
        return json.load(f)


@gin.configurable
class SavedModelClassifier(Classifier):
    """A SavedModel signature `images -> {logits_key: [N, K], features_key: [N, F]}`.

    The signature must have one image input; its static shape `[None, H, W, C]` decides the
    resize / channel adaptation. The identity and display name come from the metadata JSON that
    `tools/train_classifier.py` writes (`tfgan_fast_classifier.json`), else from a digest of the
    SavedModel files (the variables index holds a checksum of every tensor).

    Args:
        path: the SavedModel directory.
        logits_key: output holding the logits.
        features_key: output holding the features for FID/KID (e.g. the penultimate layer).
        signature: signature name.
        identity: overrides the identity.
        display_name: overrides the display name (default: the metadata's, else the directory
            name + " classifier").
    """

    def __init__(self, path=gin.REQUIRED, logits_key="logits", features_key="features",
                 signature="serving_default", identity=None, display_name=None):
        if path is gin.REQUIRED or not path:
            raise ClassifierError("SavedModelClassifier needs a path "
                                  "(SavedModelClassifier.path = '...')")
        path = os.path.expanduser(path)
        if not tf.saved_model.contains_saved_model(path):
            raise ClassifierError(f"SavedModelClassifier: no SavedModel in {path!r}")
        self.path = path
        loaded = tf.saved_model.load(path)
        if signature not in loaded.signatures:
            raise ClassifierError(f"{path}: no signature {signature!r} (has "
                                  f"{sorted(loaded.signatures)})")
        self._loaded = loaded  # keeps the variables of the signature alive
        self._fn_sig = loaded.signatures[signature]
        inputs = self._fn_sig.structured_input_signature[1]
        if len(inputs) != 1:
            raise ClassifierError(f"{path}:{signature} must take one image input, takes "
                                  f"{sorted(inputs)}")
        (self._input_name, spec), = inputs.items()
        if spec.shape.rank != 4:
            raise ClassifierError(f"{path}:{signature} input {self._input_name!r} has shape "
                                  f"{spec.shape}, expected [N, H, W, C]")
        self.input_shape = tuple(spec.shape.as_list()[1:])
        outputs = self._fn_sig.structured_outputs
        missing = [k for k in (logits_key, features_key) if k not in outputs]
        if missing:
            raise ClassifierError(f"{path}:{signature} has no output {missing} (outputs: "
                                  f"{sorted(outputs)}); set logits_key / features_key")
        self.logits_key, self.features_key = logits_key, features_key
        meta = read_metadata(path)
        self.metadata = meta
        if identity is None:
            identity = meta.get("identity")
        if identity is None:
            files = [os.path.join(path, "saved_model.pb")]
            index = os.path.join(path, "variables", "variables.index")
            if os.path.isfile(index):
                files.append(index)
            identity = f"savedmodel:{os.path.basename(os.path.normpath(path))}:" \
                       f"{_file_digest(files)}"
        self.identity = identity
        self.display_name = (display_name or meta.get("display_name")
                             or f"{os.path.basename(os.path.normpath(path))} classifier")

    def _run(self, images):
        out = self._fn_sig(**{self._input_name: images})
        return out[self.logits_key], out[self.features_key]


def make_classifier(path=None, inception=False):
    """The classifier a command line names (tools' `--classifier_path` / `--inception`).

    Args:
        path: None for TF-Hub Inception; `"packaged:fashion_mnist"` for the classifier that
            ships in the package (`eval/packaged.py`); else a SavedModel directory.
        inception: `path` is a local copy of TF-GAN's Inception module (not a
            `SavedModelClassifier` signature).
    """
    if path is None:
        return InceptionClassifier()
    if inception:
        return InceptionClassifier(path_or_url=path)
    if path.startswith(PACKAGED_PREFIX):
        from tfgan_fast.eval import packaged  # pylint: disable=import-outside-toplevel
        return SavedModelClassifier(packaged.packaged_classifier_path(
            path[len(PACKAGED_PREFIX):]))
    return SavedModelClassifier(path)


def weights_digest(model):
    """A short SHA-1 of a Keras model's weight names, shapes and values."""
    h = hashlib.sha1()
    for w in model.weights:
        value = np.asarray(keras.ops.convert_to_numpy(w))
        h.update(f"{w.path}:{value.shape}:{value.dtype}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()[:12]


@gin.configurable
class KerasClassifier(Classifier):
    """An in-memory Keras classifier.

    The model may return `(logits, features)`, a dict with `logits_key` and `features_key`, or
    only logits, in which case `features_layer` names the layer whose output are the features (a
    functional or Sequential model is then re-wired to return both).

    Args:
        model: a built Keras model taking images `[N, H, W, C]` in [-1, 1].
        features_layer: name of the feature layer when the model returns logits only.
        logits_key, features_key: keys of a dict output.
        input_shape: `(H, W, C)` to adapt images to; default: the model's input shape if known.
        identity: default "keras:<model name>:<weights digest>" (changes when the weights do).
        display_name: default "<model name> classifier".
    """

    def __init__(self, model=gin.REQUIRED, features_layer=None, logits_key="logits",
                 features_key="features", input_shape=None, identity=None, display_name=None):
        if model is gin.REQUIRED:
            raise ClassifierError("KerasClassifier needs a model")
        name = model.name
        if features_layer is not None:
            try:
                model = keras.Model(model.inputs,
                                    [model.outputs[0], model.get_layer(features_layer).output],
                                    name=name)
            except (AttributeError, ValueError, TypeError) as e:
                raise ClassifierError(
                    f"KerasClassifier: cannot expose layer {features_layer!r} of {name} "
                    f"({e}); use a functional/Sequential model that is built, or return "
                    "(logits, features) from the model") from e
        self.model = model
        self.logits_key, self.features_key = logits_key, features_key
        if input_shape is None:
            try:
                input_shape = tuple(model.inputs[0].shape[1:])
            except (AttributeError, IndexError, TypeError, ValueError):
                input_shape = (None, None, None)
        self.input_shape = tuple(input_shape)
        self.identity = identity or f"keras:{model.name}:{weights_digest(model)}"
        self.display_name = display_name or f"{model.name} classifier"

    def _run(self, images):
        out = self.model(images, training=False)
        if isinstance(out, dict):
            return out[self.logits_key], out[self.features_key]
        if isinstance(out, (list, tuple)) and len(out) == 2:
            return out[0], out[1]
        raise ClassifierError(f"{self.model.name} returns {type(out).__name__}; it must return "
                              "(logits, features) or a dict, or pass features_layer")
