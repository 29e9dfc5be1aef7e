"""The contract every generator and discriminator of `tfgan_fast.nets` keeps, checked by one
shared harness (the idea of keras-hub's model tests) on a tiny instance of each class:

* shapes: `G(z, labels)` gives `[B, H, W, C]` images (`[B, C]` points for the MLP), `D` gives
  `{"logits": [B]}` and, with an auxiliary classifier, `"class_logits": [B, num_classes]`;
* dtypes under each precision policy (float32, mixed_bfloat16, mixed_float16): the network
  computes in the policy's dtype, keeps float32 parameters and returns float32 outputs;
* `get_config` -> `from_config` under the same policy: the same config, the same weight shapes
  and, with the weights copied, the same outputs.

A class of `tfgan_fast.nets` that is missing from `CASES` fails `test_every_class_has_a_case`.
"""

import inspect

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from tfgan_fast import nets
from tfgan_fast.runtime import precision

B, C = 2, 3
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")

# class name -> (constructor arguments, the input it takes: image shape for a discriminator,
# output shape for a generator, conditional or not). Tiny widths and resolutions.
CASES = {
    "ResNetGenerator": (dict(resolution=16, channels=3, width=8, z_dim=8, num_classes=C),
                        (16, 16, 3), True),
    "ResNetDiscriminator": (dict(resolution=16, channels=3, width=8, num_classes=C),
                            (16, 16, 3), True),
    "MLPGenerator": (dict(resolution=None, channels=2, width=8, z_dim=2), (2,), False),
    "MLPDiscriminator": (dict(resolution=None, channels=2, width=8), (2,), False),
    "DCGANGenerator": (dict(resolution=16, channels=3, width=4, z_dim=8), (16, 16, 3), False),
    "DCGANDiscriminator": (dict(resolution=16, channels=3, width=4), (16, 16, 3), False),
    "ConventionalGenerator": (dict(resolution=16, channels=1, width=4, z_dim=8), (16, 16, 1),
                              False),
    "ConventionalDiscriminator": (dict(resolution=16, channels=1, width=4), (16, 16, 1), False),
    "FARGANResNetGenerator": (dict(resolution=32, channels=3, width=2, z_dim=8), (32, 32, 3),
                              False),
    "FARGANResNetDiscriminator": (dict(resolution=32, channels=3, width=2), (32, 32, 3), False),
    "BigGANDeepGenerator": (dict(resolution=16, channels=3, width=4, z_dim=8, num_classes=C,
                                 embedding_dim=4, blocks_per_stage=1, attention_resolution=8,
                                 channel_multipliers=[2, 2, 1]), (16, 16, 3), True),
    "BigGANDeepDiscriminator": (dict(resolution=16, channels=3, width=4, num_classes=C,
                                     blocks_per_stage=1, attention_resolution=8,
                                     channel_multipliers=[1, 2, 2]), (16, 16, 3), True),
    "SNGANCNNGenerator": (dict(resolution=16, channels=3, width=8, z_dim=8), (16, 16, 3),
                          False),
    "SNGANCNNDiscriminator": (dict(resolution=16, channels=3, width=4), (16, 16, 3), False),
}


def _inputs(net, shape, conditional):
    """The arguments of one call: `(z, labels)` for a generator, `(images, labels)` for a
    discriminator, drawn from fixed seeds."""
    labels = tf.constant([0, C - 1], tf.int32) if conditional else None
    if type(net).__name__.endswith("Generator"):
        return tf.random.stateless_normal([B, net.z_dim], seed=[1, 2]), labels
    return tf.random.stateless_uniform((B,) + shape, seed=[3, 4], minval=-1.0), labels


def _call(net, inputs):
    out = net(*inputs, training=False)
    return out if isinstance(out, dict) else {"images": out}


def _build(cls, kwargs, shape, conditional, policy):
    """`cls(**kwargs)` created and called once under `policy`; returns (net, inputs, outputs)."""
    with precision.global_policy(policy):
        keras.utils.set_random_seed(0)
        net = cls(**kwargs)
        inputs = _inputs(net, shape, conditional)
        return net, inputs, _call(net, inputs)


class NetContractTest(tf.test.TestCase, parameterized.TestCase):

    def test_every_class_has_a_case(self):
        classes = {name for name in nets.__all__
                   if inspect.isclass(getattr(nets, name))
                   and issubclass(getattr(nets, name), keras.Model)
                   and name.endswith(("Generator", "Discriminator"))}
        self.assertEqual(classes, set(CASES))

    @parameterized.named_parameters((name, name) for name in CASES)
    def test_contract(self, name):
        cls = getattr(nets, name)
        kwargs, shape, conditional = CASES[name]
        for policy in POLICIES:
            with self.subTest(policy=policy):
                net, inputs, out = _build(cls, kwargs, shape, conditional, policy)
                compute = keras.mixed_precision.Policy(policy).compute_dtype
                self.assertEqual(net.dtype_policy.name, policy)
                self.assertEqual(net.compute_dtype, compute)
                # Float32 parameters (Keras' spectral norm keeps its power-iteration vector u,
                # not a parameter, in the compute dtype).
                self.assertEqual({v.dtype for v in net.trainable_weights}, {"float32"})
                if name.endswith("Generator"):
                    self.assertEqual(sorted(out), ["images"])
                    self.assertEqual(tuple(out["images"].shape), (B,) + shape)
                else:
                    want = {"logits": (B,)}
                    if getattr(net, "head", None) == "ac":
                        want["class_logits"] = (B, C)
                    self.assertEqual({k: tuple(v.shape) for k, v in out.items()}, want)
                for key, value in out.items():
                    self.assertEqual(value.dtype, tf.float32, key)
                    self.assertTrue(np.all(np.isfinite(value.numpy())), key)

                # The round trip, under the policy, as the library builds its networks.
                config = net.get_config()
                with precision.global_policy(policy):
                    clone = cls.from_config(config)
                    _call(clone, inputs)
                self.assertEqual(clone.get_config(), config)
                self.assertEqual(clone.dtype_policy.name, policy)
                self.assertEqual([tuple(v.shape) for v in clone.weights],
                                 [tuple(v.shape) for v in net.weights])
                clone.set_weights(net.get_weights())
                again = _call(clone, inputs)
                self.assertEqual(sorted(again), sorted(out))
                for key in out:
                    self.assertAllEqual(again[key], out[key], msg=key)


if __name__ == "__main__":
    tf.test.main()
