"""The host description, the peak FLOP/s and the FLOP counts that the speed tools print."""

import keras
import tensorflow as tf

from tfgan_fast.perf import flops
from tfgan_fast.runtime import hardware
from tfgan_fast.nets import ResNetDiscriminator, ResNetGenerator
from tfgan_fast.nets.sngan_cnn import SNGANCNNDiscriminator, SNGANCNNGenerator


def _xeon_block(processor, core, mhz):
    return (f"processor\t: {processor}\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
            f"cpu MHz\t\t: {mhz}\nphysical id\t: 0\ncore id\t\t: {core}\n"
            "flags\t\t: fpu sse avx2 fma avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n")


# Two hyper-threads of core 0 and one of core 1 (abridged /proc/cpuinfo of a Sapphire Rapids).
XEON = "\n".join([_xeon_block(0, 0, "2000.000"), _xeon_block(1, 0, "3800.000"),
                  _xeon_block(2, 1, "2000.000")])
EPYC = """processor\t: 0
model name\t: AMD EPYC
cpu MHz\t\t: 2596.124
flags\t\t: fpu avx2 fma avx512f avx512_bf16 avx512_vnni

processor\t: 1
model name\t: AMD EPYC
cpu MHz\t\t: 2596.124
flags\t\t: fpu avx2 fma avx512f avx512_bf16 avx512_vnni
"""


class HardwareTest(tf.test.TestCase):

    def test_parse_cpuinfo(self):
        info = hardware.parse_cpuinfo(XEON)
        self.assertEqual(info.model, "Intel(R) Xeon(R) Platinum 8480+")
        self.assertEqual(info.flags, ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile",
                                      "amx_bf16"))
        self.assertEqual((info.logical, info.cores, info.mhz), (3, 2, 2000.0))
        # No physical / core ids (a VM): every logical CPU is a core.
        epyc = hardware.parse_cpuinfo(EPYC)
        self.assertEqual((epyc.logical, epyc.cores, epyc.flags),
                         (2, 2, ("avx2", "fma", "avx512f", "avx512_bf16")))
        self.assertEqual(hardware.describe(epyc), "CPU: AMD EPYC, 2 cores (2 logical), 2.60 GHz "
                         "(/proc/cpuinfo cpu MHz); flags: avx2 fma avx512f avx512_bf16 "
                         "no-amx_tile no-amx_bf16")

    def test_peak_flops(self):
        # 2 cores x 2.0 GHz: float32 2 units x 16 lanes x 2 = 64 FLOP/cycle -> 256 GFLOP/s;
        # AMX-BF16 1024 FLOP/cycle -> 4096 GFLOP/s.
        peaks = hardware.peak_flops(hardware.parse_cpuinfo(XEON))
        self.assertEqual((peaks["float32"], peaks["bfloat16"], peaks["bfloat16_unit"]),
                         (256e9, 4096e9, "AMX-BF16"))
        # AVX512_BF16 without AMX: 64 FLOP/cycle per unit; one unit (Zen 4), 3.0 GHz.
        peaks = hardware.peak_flops(hardware.parse_cpuinfo(EPYC), fma_units=1, clock_ghz=3.0)
        self.assertEqual((peaks["float32"], peaks["bfloat16"], peaks["bfloat16_unit"]),
                         (2 * 3e9 * 32, 2 * 3e9 * 64, "AVX512_BF16"))
        avx2 = hardware.parse_cpuinfo(EPYC.replace(" avx512f avx512_bf16", ""))
        self.assertEqual(hardware.peak_flops(avx2, clock_ghz=2.0)["float32"], 2 * 2e9 * 2 * 8 * 2)


class FlopCountTest(tf.test.TestCase):

    def test_tiny_conv_and_dense_by_hand(self):
        conv = keras.layers.Conv2D(3, 3, padding="same")
        dense = keras.layers.Dense(4)
        x, v = tf.zeros([1, 4, 4, 2]), tf.zeros([2, 3])

        def loss(x, v):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.reduce_sum(conv(x)) + tf.reduce_sum(dense(v))
            return tape.gradient(y, [x, conv.kernel])

        forward = flops.function_flops(lambda x, v: (conv(x), dense(v)), x, v)
        # Conv: 16 output pixels x 9 taps x 2 in x 3 out multiply-adds; its bias 16 x 3 adds.
        # Dense: 2 x 3 x 4 multiply-adds; its bias 2 x 4 adds.
        self.assertEqual(forward, {"Conv2D": 2 * 16 * 9 * 2 * 3, "MatMul": 2 * 2 * 3 * 4,
                                   "BiasAdd": 16 * 3 + 2 * 4})
        backward = flops.function_flops(loss, x, v)
        self.assertEqual(backward["Conv2DBackpropInput"], 2 * 16 * 9 * 2 * 3)
        self.assertEqual(backward["Conv2DBackpropFilter"], 2 * 16 * 9 * 2 * 3)
        self.assertEqual(flops.matmul_share(forward), 2 * 16 * 9 * 2 * 3 + 2 * 2 * 3 * 4)

    def test_hand_counts_match_tensorflow(self):
        # Both CIFAR ResNets (every head), and LOGAN's SNGAN CNNs, at small widths.
        def check(net, specs_of, shape=(32, 32, 3)):
            self.assertEqual(flops.forward_per_example(net, specs_of),
                             flops.hand_forward(net, shape))

        labels = lambda b: tf.TensorSpec([b], tf.int32)  # noqa: E731
        g = ResNetGenerator(width=8, z_dim=16)
        g(tf.zeros([2, 16]), tf.zeros([2], tf.int32))
        check(g, lambda b: (tf.TensorSpec([b, 16]), labels(b)))
        for head, shortcut in (("ac", "always"), ("projection", "auto")):
            d = ResNetDiscriminator(width=8, head=head, learnable_shortcut=shortcut,
                                    spectral_norm=head == "projection")
            d(tf.zeros([2, 32, 32, 3]), tf.zeros([2], tf.int32))
            check(d, lambda b: (tf.TensorSpec([b, 32, 32, 3]), labels(b)))
        g, d = SNGANCNNGenerator(width=32, z_dim=16), SNGANCNNDiscriminator(width=8)
        d(g(tf.zeros([2, 16])))
        check(g, lambda b: (tf.TensorSpec([b, 16]),))
        check(d, lambda b: (tf.TensorSpec([b, 32, 32, 3]),))
        # As the architecture is written, G's up-sampling 3x3 convolutions cost 36/16 of the
        # executed 4x4 transposed ones (at 2x the input size, 9 taps vs 16 per input pixel).
        executed, written = (flops.resnet_generator_forward(width=8, z_dim=16, executed=e)
                             for e in (True, False))
        self.assertGreater(written, executed)
