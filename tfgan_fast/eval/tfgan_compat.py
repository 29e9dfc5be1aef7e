"""Makes `import tensorflow_gan` work on TensorFlow versions without `tf.estimator`.

TF-GAN 2.1.0 defines, at import time, three classes that subclass Estimator API types:
`tensorflow_gan/python/train.py` (`RunTrainOpsHook(tf.estimator.SessionRunHook)`) and its
estimator package (`GANEstimator(tf.estimator.Estimator)`,
`TPUGANEstimator(tf.compat.v1.estimator.tpu.TPUEstimator)`). `tf.estimator` was removed in TF 2.16,
so the import fails with an `AttributeError` (installing tensorflow-estimator does not help).

`tfgan()` installs placeholder classes for exactly those missing names, imports TF-GAN, and removes
the placeholders again so that no other library sees a fake `tf.estimator`. The metrics we use
(`tfgan.eval.*_from_logits` / `*_from_activations`) never touch the placeholders; the estimator and
session-hook APIs of TF-GAN stay unusable and say so if instantiated. No TF-GAN code is copied.

`tensorflow_probability` is imported first on purpose: importing it rebuilds `tf.compat.v1`, which
would drop a placeholder installed earlier.
"""

import sys
import threading
import warnings

# (owner path inside `tf`, attribute path below it) of every Estimator name TF-GAN 2.1.0 needs at
# import time; found by importing it against a recording stub.
_NEEDED = (
    ("estimator", "SessionRunHook"),
    ("estimator", "Estimator"),
    ("compat.v1.estimator", "tpu.TPUEstimator"),
)

_lock = threading.Lock()
_module = None


class EstimatorUnavailableError(RuntimeError):
    """A TF-GAN estimator / session-hook API was used on a TF without `tf.estimator`."""


def _placeholder(qualname):
    def __init__(self, *args, **kwargs):  # pylint: disable=unused-argument
        raise EstimatorUnavailableError(
            f"{qualname} is unavailable: this TensorFlow has no tf.estimator, so TF-GAN's "
            "estimator and session-hook APIs cannot be used (its eval, losses and features "
            "modules work).")

    return type(qualname.rsplit(".", 1)[-1], (object,), {
        "__init__": __init__, "__module__": __name__, "__qualname__": qualname,
        "__doc__": "Placeholder for a removed Estimator API type (see tfgan_compat)."})


class _Namespace:
    """An attribute bag standing in for a removed module such as `tf.estimator`."""


def _resolve(root, dotted):
    obj = root
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return None
        obj = getattr(obj, part)
    return obj


def _install_placeholders(tf):
    """Adds the missing names; returns `[(parent, attribute)]` to delete afterwards."""
    added = []
    for owner_path, attr_path in _NEEDED:
        if _resolve(tf, f"{owner_path}.{attr_path}") is not None:
            continue  # a TF that still has it: leave the real API alone
        parent = tf
        parts = owner_path.split(".") + attr_path.split(".")
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if not hasattr(parent, part):
                value = (_placeholder("tf." + ".".join(parts)) if last else _Namespace())
                setattr(parent, part, value)
                added.append((parent, part))
            parent = getattr(parent, part)
    return added


def _remove_placeholders(added):
    for parent, attr in reversed(added):
        try:
            delattr(parent, attr)
        except AttributeError:
            pass


def _import():
    # pylint: disable=import-outside-toplevel,unused-import
    import tensorflow as tf
    # Must come before the placeholders: it rebuilds tf.compat.v1 (see the module docstring).
    import tensorflow_probability  # noqa: F401
    # pylint: enable=import-outside-toplevel,unused-import

    if "tensorflow_gan" in sys.modules:
        return sys.modules["tensorflow_gan"]
    added = _install_placeholders(tf)
    try:
        with warnings.catch_warnings():
            # TF-GAN checks versions with distutils, deprecated since Python 3.10.
            warnings.simplefilter("ignore", DeprecationWarning)
            import tensorflow_gan  # pylint: disable=import-outside-toplevel
    except Exception as e:
        raise ImportError(
            f"importing tensorflow_gan failed even with the tf.estimator placeholders of "
            f"{__name__}: {type(e).__name__}: {e}. The shim knows the names TF-GAN 2.1.0 needs "
            f"({', '.join(f'tf.{o}.{a}' for o, a in _NEEDED)}); another TF-GAN version may need "
            "more.") from e
    finally:
        _remove_placeholders(added)
    return tensorflow_gan


def tfgan():
    """Returns the `tensorflow_gan` module, importing it (once) with the estimator shim.

    Returns:
        The imported `tensorflow_gan` module (cached).

    Raises:
        ImportError: TF-GAN or TensorFlow Probability is missing or still fails to import.
    """
    global _module  # pylint: disable=global-statement
    if _module is None:
        with _lock:
            if _module is None:
                _module = _import()
    return _module
