"""Pins every network family's initial weights and feature-map sizes.

Two networks with the same parameter count can still differ in their layout (where they
downsample) and their initialisation (gains, biases): the FastGAN authors' CIFAR discriminator
and the SNGAN paper's have the same count and train differently. This test makes such a change a
deliberate, visible decision: `tests/golden/init_pins.json` records, for a small instance of each
family built from seed 0, every variable's shape, standard deviation and range, and the output
size of every top-level layer on a batch of 2. A change to an initialiser or a layout fails here;
if it is intended, regenerate the file and commit its diff with the change:

    python -m tests.unit.test_init_pins --regenerate

Besides the pinned record, the "chainer" and "pytorch" schemes of the ResNets are checked against
their definitions by hand (Xavier-uniform bounds, gain sqrt(2), PyTorch's bias bound).
"""
import json
import math
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from tests.support import ROOT
from tfgan_fast.nets import biggan, conventional, dcgan, fargan_resnet, layers, mlp, resnet
from tfgan_fast.nets import sngan_cnn

GOLDEN = os.path.join(ROOT, "tests", "golden", "init_pins.json")
Z, C, B = 16, 3, 2

# name -> (generator factory, discriminator factory, resolution, channels, conditional)
FAMILIES = {
    "resnet_chainer": (
        lambda: resnet.ResNetGenerator(32, 3, width=16, z_dim=Z, num_classes=C),
        lambda: resnet.ResNetDiscriminator(32, 3, width=16, num_classes=C), 32, 3, True),
    "resnet_pytorch_code_layout": (
        lambda: resnet.ResNetGenerator(32, 3, width=16, z_dim=Z, num_classes=C, init="pytorch"),
        lambda: resnet.ResNetDiscriminator(32, 3, width=16, num_classes=C, init="pytorch",
                                           channel_multipliers=[1, 1, 1, 1],
                                           downsample_last=True), 32, 3, True),
    "resnet_projection_sn": (
        lambda: resnet.ResNetGenerator(32, 3, width=16, z_dim=Z, num_classes=C),
        lambda: resnet.ResNetDiscriminator(32, 3, width=16, num_classes=C, head="projection",
                                           spectral_norm=True, learnable_shortcut="auto"),
        32, 3, True),
    "dcgan": (lambda: dcgan.DCGANGenerator(32, 3, width=16, z_dim=Z),
              lambda: dcgan.DCGANDiscriminator(32, 3, width=16), 32, 3, False),
    "conventional": (lambda: conventional.ConventionalGenerator(32, 3, width=16, z_dim=Z),
                     lambda: conventional.ConventionalDiscriminator(32, 3, width=16), 32, 3,
                     False),
    "sngan_cnn": (lambda: sngan_cnn.SNGANCNNGenerator(32, 3, width=32, z_dim=Z),
                  lambda: sngan_cnn.SNGANCNNDiscriminator(32, 3, width=16), 32, 3, False),
    "fargan_resnet": (lambda: fargan_resnet.FARGANResNetGenerator(32, 3, width=8, z_dim=Z),
                      lambda: fargan_resnet.FARGANResNetDiscriminator(32, 3, width=8), 32, 3,
                      False),
    "biggan_deep": (lambda: biggan.BigGANDeepGenerator(32, 3, width=8, z_dim=Z, num_classes=C),
                    lambda: biggan.BigGANDeepDiscriminator(32, 3, width=8, num_classes=C),
                    32, 3, True),
    "mlp": (lambda: mlp.MLPGenerator(None, 2, width=16, z_dim=2),
            lambda: mlp.MLPDiscriminator(None, 2, width=16), None, 2, False),
}


def _shape(value):
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items())}
    return list(value.shape)


def _record_feature_maps(model):
    """Wraps every direct sub-layer's `call` to record its output shapes, in call order.

    Layers are named by their attribute order and class (auto-generated names such as
    `flatten_2` depend on what the process built before).
    """
    seen = []
    for i, layer in enumerate(model._flatten_layers(include_self=False, recursive=False)):
        original = layer.call
        name = f"{i}:{type(layer).__name__}"

        def call(*args, _original=original, _name=name, **kwargs):
            out = _original(*args, **kwargs)
            seen.append([_name, _shape(out)])
            return out

        layer.call = call
    return seen


def _stats(model):
    rows = []
    for v in model.weights:
        x = np.asarray(v.numpy(), np.float64)
        path = v.path.split("/", 1)[1]  # without the model's own (process-numbered) name
        rows.append({"path": path, "shape": list(x.shape), "std": float(x.std()),
                     "min": float(x.min()), "max": float(x.max())})
    return rows


_BUILT = {}


def _build(name):
    """The family's G and D built from seed 0: (record dict, G, D), built once per process."""
    if name not in _BUILT:
        g_fn, d_fn, _, _, conditional = FAMILIES[name]
        keras.utils.set_random_seed(0)
        g, d = g_fn(), d_fn()
        z = tf.random.stateless_normal([B, g.z_dim], seed=[1, 2])
        labels = tf.constant([0, C - 1], tf.int32) if conditional else None
        d(g(z, labels, training=False), labels, training=False)  # builds the variables
        record = {"generator": {"weights": _stats(g)}, "discriminator": {"weights": _stats(d)}}
        g_maps, d_maps = _record_feature_maps(g), _record_feature_maps(d)
        d(g(z, labels, training=False), labels, training=False)
        record["generator"]["feature_maps"] = g_maps
        record["discriminator"]["feature_maps"] = d_maps
        _BUILT[name] = record, g, d
    return _BUILT[name]


def regenerate():
    pins = {name: _build(name)[0] for name in FAMILIES}
    with open(GOLDEN, "w", encoding="utf-8") as f:
        json.dump(pins, f, indent=0, sort_keys=True)
        f.write("\n")
    print(f"wrote {GOLDEN}")


class InitPinsTest(tf.test.TestCase):
    """Each family's initial weights and feature maps against the pinned record."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(GOLDEN, encoding="utf-8") as f:
            cls.pins = json.load(f)

    def test_every_family_is_pinned(self):
        self.assertEqual(sorted(self.pins), sorted(FAMILIES))

    def _check(self, name):
        record, _, _ = _build(name)
        pinned = self.pins[name]
        hint = (f"{name}: initial weights or layout differ from tests/golden/init_pins.json; if "
                "intended, run `python -m tests.unit.test_init_pins --regenerate` and commit it")
        for net in ("generator", "discriminator"):
            self.assertEqual(record[net]["feature_maps"], pinned[net]["feature_maps"],
                             f"{hint} ({net} feature maps)")
            got, want = record[net]["weights"], pinned[net]["weights"]
            self.assertEqual([(w["path"], w["shape"]) for w in got],
                             [(w["path"], w["shape"]) for w in want], f"{hint} ({net} variables)")
            for g, w in zip(got, want):
                for key in ("std", "min", "max"):
                    self.assertAllClose(g[key], w[key], rtol=1e-3, atol=1e-6,
                                        msg=f"{hint} ({w['path']} {key})")

    def test_resnet_chainer(self):
        self._check("resnet_chainer")

    def test_resnet_pytorch_code_layout(self):
        self._check("resnet_pytorch_code_layout")

    def test_resnet_projection_sn(self):
        self._check("resnet_projection_sn")

    def test_dcgan(self):
        self._check("dcgan")

    def test_conventional(self):
        self._check("conventional")

    def test_sngan_cnn(self):
        self._check("sngan_cnn")

    def test_fargan_resnet(self):
        self._check("fargan_resnet")

    def test_biggan_deep(self):
        self._check("biggan_deep")

    def test_mlp(self):
        self._check("mlp")

    def test_code_layout_ends_at_2x2_and_paper_layout_at_8x8(self):
        """The FastGAN authors' CIFAR D halves the map in all four blocks; SNGAN's stops at 8."""
        maps = {name: [m for n, m in self.pins[name]["discriminator"]["feature_maps"]
                       if n.endswith("ResBlockDown")]
                for name in ("resnet_chainer", "resnet_pytorch_code_layout")}
        self.assertEqual([m[1] for m in maps["resnet_chainer"]], [16, 8, 8, 8])
        self.assertEqual([m[1] for m in maps["resnet_pytorch_code_layout"]], [16, 8, 4, 2])


class InitSchemesByHandTest(tf.test.TestCase):
    """The two ResNet schemes against their definitions, from the layers' own weights."""

    def _conv_stats(self, name):
        _, g, d = _build(name)
        block = d.blocks[1]  # a regular down-block: conv1 3x3 (16 -> 16), conv_sc 1x1
        return g, d, block

    def test_chainer_gain_sqrt2_and_zero_biases(self):
        g, d, block = self._conv_stats("resnet_chainer")
        fan = 9 * 16  # fan_in == fan_out for a 3x3 16 -> 16 convolution
        kernel = block.conv1.kernel.numpy()
        # Xavier-uniform with gain sqrt(2): bound = sqrt(2) * sqrt(6 / (fan_in + fan_out)).
        bound = math.sqrt(2.0) * math.sqrt(6.0 / (2 * fan))
        self.assertLessEqual(np.abs(kernel).max(), bound)
        self.assertAllClose(kernel.std(), bound / math.sqrt(3.0), rtol=0.06)
        shortcut = block.conv_sc.kernel.numpy()
        self.assertAllClose(shortcut.std(), math.sqrt(6.0 / 32) / math.sqrt(3.0), rtol=0.1)
        for layer in (block.conv1, block.conv2, block.conv_sc, g.dense, g.conv_out):
            self.assertAllEqual(layer.bias.numpy(), np.zeros(layer.bias.shape))

    def test_pytorch_gain_1_and_uniform_biases(self):
        g, d, block = self._conv_stats("resnet_pytorch_code_layout")
        fan = 9 * 16
        kernel = block.conv1.kernel.numpy()
        bound = math.sqrt(6.0 / (2 * fan))
        self.assertLessEqual(np.abs(kernel).max(), bound)
        self.assertAllClose(kernel.std(), bound / math.sqrt(3.0), rtol=0.06)
        # PyTorch's default bias: U(-1 / sqrt(fan_in), 1 / sqrt(fan_in)).
        for layer, fan_in in ((block.conv1, 9 * 16), (block.conv_sc, 16), (g.dense, Z),
                              (g.conv_out, 9 * 16), (d.head_layer.adv, 16)):
            bias = layer.bias.numpy()
            self.assertLessEqual(np.abs(bias).max(), 1.0 / math.sqrt(fan_in))
            self.assertGreater(np.abs(bias).max(), 0.3 / math.sqrt(fan_in))

    def test_unknown_scheme_is_refused(self):
        with self.assertRaisesRegex(ValueError, "init must be one of .* got 'xavier'"):
            resnet.ResNetGenerator(32, 3, width=16, z_dim=Z, num_classes=C, init="xavier")
        with self.assertRaisesRegex(ValueError, "init must be one of"):
            layers.ResBlockDown(16, init="he")


if __name__ == "__main__":
    if "--regenerate" in sys.argv:
        regenerate()
    else:
        tf.test.main()
