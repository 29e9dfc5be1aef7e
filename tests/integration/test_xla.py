"""`run.jit_compile = True`: XLA gives every method the same updates as plain `tf.function`.

XLA's CPU kernels of TF's stateless random ops (Philox included) draw other numbers than TF's own
kernels for the same seed tensor (the key and counter agree, the normals do not), so an XLA run
has another random stream than the same run without XLA. To compare the update itself, the random
ops are replaced here by a stand-in made of ordinary arithmetic, the same under both. On one CPU
device: XLA under a CPU MirroredStrategy fails in TensorFlow itself (a resource placed on the
wrong device, which also breaks the process's collectives). Tiny nets, float32, 3 iterations.
"""

import math
from unittest import mock

import tensorflow as tf

from tests.support.methods import METHODS, all_weights, fit_steps, max_diff, method_trainer


def _uniform01(shape, seed, salt=0):
    """Deterministic numbers in [0, 1) from `seed`, made of float64 arithmetic."""
    n = tf.reduce_prod(tf.convert_to_tensor(shape, tf.int64))
    i = tf.cast(tf.range(n), tf.float64)
    s = tf.cast(seed, tf.float64)
    x = tf.sin(i * 12.9898 + s[0] * 78.233 + s[1] * 37.719 + salt * 3.1) * 43758.5453
    return tf.reshape(x - tf.floor(x), shape)


def _stateless_uniform(shape, seed, minval=0, maxval=None, dtype=tf.float32, **_):
    u = _uniform01(shape, seed)
    low = tf.cast(minval, tf.float64)
    high = tf.cast(1.0 if maxval is None else maxval, tf.float64)
    if tf.as_dtype(dtype).is_integer:
        return tf.cast(low + tf.floor(u * (high - low)), dtype)
    return tf.cast(low + u * (high - low), dtype)


def _stateless_normal(shape, seed, mean=0.0, stddev=1.0, dtype=tf.float32, **_):
    u1, u2 = _uniform01(shape, seed), _uniform01(shape, seed, salt=1)
    z = tf.sqrt(-2.0 * tf.math.log(u1 + 1e-12)) * tf.cos(2.0 * math.pi * u2)
    return tf.cast(mean + stddev * z, dtype)


def _fold_in(seed, data, **_):
    return tf.cast(seed, tf.int64) + tf.constant([0, 7919], tf.int64) * tf.cast(data, tf.int64)


class XLATest(tf.test.TestCase):

    def test_every_method_updates_as_without_xla(self):
        for name in METHODS:
            with self.subTest(method=name):
                plain = method_trainer(name, "float32", jit_compile=False, run_eagerly=False)
                xla = method_trainer(name, "float32", jit_compile=True, run_eagerly=False)
                start = all_weights(plain)
                self.assertEqual(max_diff(all_weights(xla), start), 0.0)
                # The step's random ops replaced while the functions are traced.
                with mock.patch.object(tf.random, "stateless_uniform", _stateless_uniform), \
                        mock.patch.object(tf.random, "stateless_normal", _stateless_normal), \
                        mock.patch.object(tf.random.experimental, "stateless_fold_in",
                                          _fold_in):
                    fit_steps(plain, 3)
                    fit_steps(xla, 3)
                update = max_diff(all_weights(plain), start)
                diff = max_diff(all_weights(xla) + [v.numpy() for v in xla.state_variables()],
                                all_weights(plain) + [v.numpy() for v in plain.state_variables()])
                print(f"{name}: XLA vs tf.function after 3 iterations: max |diff| {diff:.2e} "
                      f"(largest update {update:.2e})")
                self.assertGreater(update, 1e-2)
                self.assertLess(diff, 1e-5)

if __name__ == "__main__":
    tf.test.main()
