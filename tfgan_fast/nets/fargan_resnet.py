"""The ResNets of Tao & Wang 2020, App. D: CIFAR (tables 7-8) and ImageNet 64 px (tables 11-12).

These are the networks of Mescheder et al. [20] ("Which training methods for GANs do actually
converge?"), which Tao & Wang 2020 says it uses, and differ from `nets/resnet.py`'s SNGAN ResNets
(no batch norm, LeakyReLU(0.2), pre-activation blocks with a 0.1-scaled residual, nearest-neighbour
upsampling and 3x3 stride-2 average pooling *between* blocks, a fully connected first/last layer on
4x4 maps), so they get their own classes:

    FARGANResBlock(f_in -> f_hidden -> f_out):
        out = shortcut(x) + 0.1 * conv3x3_1(lrelu(conv3x3_0(lrelu(x))))
        shortcut = 1x1 conv without bias when f_in != f_out, identity otherwise.

G: Dense(z_dim -> fc_mult*w * 4 * 4) -> `[B, 4, 4, .]` -> stages at 4, 8, ..., resolution px,
each `blocks_per_stage` blocks (the first goes to `stage_mults[s] * w` with hidden = output
width, i.e. `min(f_in, f_out)`), nearest 2x upsampling between stages -> lrelu -> Conv3x3(->
channels) -> tanh.
D: Conv3x3(channels -> in_mult * w) -> stages, each `blocks_per_stage` blocks whose last one goes
to `stage_mults[s] * w` (hidden = input width), 3x3 stride-2 average pooling after each stage
while the map is larger than 4x4 -> flatten -> lrelu -> Dense(-> 1).

3x3 stride-2 pooling with 'same' padding averages over the pixels inside the image (PyTorch's
`avg_pool2d(3, 2, padding=1)` of [20] also counts the zero padding at the border).

CIFAR (tables 7-8), w = 64: G fc 8w, stages (4, 2, 1, 1), 1 block; D in 1w, stages (2, 4, 8),
1 block. ImageNet 64 (tables 11-12), w = 64, z 256: G fc 16w, stages (16, 8, 4, 2, 1),
2 blocks; D in 1w, stages (2, 4, 8, 16, 16), 2 blocks.
"""

import keras
import tensorflow as tf

from tfgan_fast.nets.layers import check_int
from tfgan_fast.nets.layers import check_unconditional
from tfgan_fast.nets.layers import get_layers
from tfgan_fast.nets.layers import leaky_relu
from tfgan_fast.nets.layers import set_layers


@keras.saving.register_keras_serializable(package="tfgan_fast")
class FARGANResBlock(keras.layers.Layer):
    """Pre-activation residual block of [20] (see the module docstring).

    Args:
        filters: f_out.
        hidden: f_hidden.
        residual_scale: 0.1 in [20].
    """

    def __init__(self, filters, hidden, residual_scale=0.1, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.hidden, self.residual_scale = filters, hidden, residual_scale

    def build(self, inputs_shape):
        self.conv_0 = keras.layers.Conv2D(self.hidden, 3, padding="same", name="conv_0")
        self.conv_1 = keras.layers.Conv2D(self.filters, 3, padding="same", name="conv_1")
        self.conv_0.build(inputs_shape)
        self.conv_1.build(tuple(inputs_shape[:-1]) + (self.hidden,))
        self.learned_shortcut = inputs_shape[-1] != self.filters
        if self.learned_shortcut:
            self.shortcut = keras.layers.Conv2D(self.filters, 1, use_bias=False,
                                                name="shortcut")
            self.shortcut.build(inputs_shape)

    def call(self, x):
        dx = self.conv_1(leaky_relu(self.conv_0(leaky_relu(x))))
        skip = self.shortcut(x) if self.learned_shortcut else x
        return skip + self.residual_scale * dx

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "hidden": self.hidden,
                       "residual_scale": self.residual_scale})
        return config


def _check_stages(who, resolution, stage_mults, pooled_stages):
    if not stage_mults or not all(isinstance(m, int) and m > 0 for m in stage_mults):
        raise ValueError(f"{who}.stage_mults must be positive integers, got {stage_mults!r}")
    expected = 4 * 2 ** pooled_stages
    if resolution != expected:
        raise ValueError(f"{who}: {len(stage_mults)} stages {tuple(stage_mults)} give "
                         f"{expected} px, but resolution={resolution}")


@keras.saving.register_keras_serializable(package="tfgan_fast")
class FARGANResNetGenerator(keras.Model):
    """Tao & Wang 2020, tables 7 / 11 (defaults: table 7, CIFAR).

    Args:
        resolution: must equal `4 * 2^(len(stage_mults) - 1)`.
        channels: image channels.
        width: w (64).
        z_dim: latent size (128 CIFAR, 256 ImageNet).
        num_classes: must be 0.
        fc_mult: channels of the 4x4 input map in units of w (8; 16 ImageNet).
        stage_mults: output channels of each stage in units of w.
        blocks_per_stage: 1 (CIFAR) or 2 (ImageNet).
    """

    def __init__(self, resolution=32, channels=3, width=64, z_dim=128, num_classes=0,
                 fc_mult=8, stage_mults=(4, 2, 1, 1), blocks_per_stage=1, **kwargs):
        super().__init__(**kwargs)
        who = "FARGANResNetGenerator"
        check_unconditional(who, num_classes)
        for name, value in (("channels", channels), ("width", width), ("z_dim", z_dim),
                            ("fc_mult", fc_mult), ("blocks_per_stage", blocks_per_stage)):
            check_int(f"{who}.{name}", value)
        stage_mults = tuple(stage_mults)
        _check_stages(who, resolution, stage_mults, len(stage_mults) - 1)
        self.resolution, self.channels, self.width = resolution, channels, width
        self.z_dim, self.num_classes, self.fc_mult = z_dim, num_classes, fc_mult
        self.stage_mults, self.blocks_per_stage = stage_mults, blocks_per_stage
        self.fc = keras.layers.Dense(4 * 4 * fc_mult * width, name="fc")
        blocks = []
        for s, mult in enumerate(stage_mults):
            f = mult * width
            for b in range(blocks_per_stage):
                blocks.append(FARGANResBlock(f, f, name=f"s{s}_block{b + 1}"))
        set_layers(self, blocks)
        self.upsample = keras.layers.UpSampling2D(2, interpolation="nearest")
        self.conv_img = keras.layers.Conv2D(channels, 3, padding="same", name="conv_img")

    def call(self, z, labels=None, training=None):
        del labels, training
        h = tf.reshape(self.fc(z), [-1, 4, 4, self.fc_mult * self.width])
        blocks = get_layers(self)
        for i, block in enumerate(blocks):
            if i and i % self.blocks_per_stage == 0:
                h = self.upsample(h)
            h = block(h)
        return tf.tanh(tf.cast(self.conv_img(leaky_relu(h)), tf.float32))

    def get_config(self):
        return {"resolution": self.resolution, "channels": self.channels, "width": self.width,
                "z_dim": self.z_dim, "num_classes": self.num_classes, "fc_mult": self.fc_mult,
                "stage_mults": self.stage_mults, "blocks_per_stage": self.blocks_per_stage,
                "name": self.name}


@keras.saving.register_keras_serializable(package="tfgan_fast")
class FARGANResNetDiscriminator(keras.Model):
    """Tao & Wang 2020, tables 8 / 12 (defaults: table 8, CIFAR); returns `{"logits": [B]}`.

    Args:
        resolution: `4 * 2^p` where p = the number of stages before the map reaches 4x4.
        channels: image channels.
        width: w (64).
        num_classes: must be 0.
        in_mult: channels of the first convolution in units of w (1).
        stage_mults: output channels of each stage in units of w.
        blocks_per_stage: 1 (CIFAR) or 2 (ImageNet).
    """

    def __init__(self, resolution=32, channels=3, width=64, num_classes=0, in_mult=1,
                 stage_mults=(2, 4, 8), blocks_per_stage=1, **kwargs):
        super().__init__(**kwargs)
        who = "FARGANResNetDiscriminator"
        check_unconditional(who, num_classes)
        for name, value in (("channels", channels), ("width", width), ("in_mult", in_mult),
                            ("blocks_per_stage", blocks_per_stage)):
            check_int(f"{who}.{name}", value)
        stage_mults = tuple(stage_mults)
        check_int(f"{who}.resolution", resolution, minimum=4)
        pooled = min(len(stage_mults), (resolution // 4).bit_length() - 1)
        _check_stages(who, resolution, stage_mults, pooled)
        self.resolution, self.channels, self.width = resolution, channels, width
        self.num_classes, self.in_mult = num_classes, in_mult
        self.stage_mults, self.blocks_per_stage = stage_mults, blocks_per_stage
        self.num_pooled = pooled
        self.conv_img = keras.layers.Conv2D(in_mult * width, 3, padding="same", name="conv_img")
        blocks = []
        f_in = in_mult * width
        for s, mult in enumerate(stage_mults):
            for b in range(blocks_per_stage):
                last = b == blocks_per_stage - 1
                blocks.append(FARGANResBlock(mult * width if last else f_in, f_in,
                                             name=f"s{s}_block{b + 1}"))
            f_in = mult * width
        set_layers(self, blocks)
        self.pool = keras.layers.AveragePooling2D(3, strides=2, padding="same")
        self.flatten = keras.layers.Flatten()
        self.fc = keras.layers.Dense(1, name="fc")

    def call(self, images, labels=None, training=None):
        del labels, training
        h = self.conv_img(images)
        for i, block in enumerate(get_layers(self)):
            h = block(h)
            stage, end_of_stage = divmod(i + 1, self.blocks_per_stage)
            if end_of_stage == 0 and stage <= self.num_pooled:
                h = self.pool(h)
        return {"logits": tf.cast(tf.squeeze(self.fc(leaky_relu(self.flatten(h))), -1),
                                  tf.float32)}

    def get_config(self):
        return {"resolution": self.resolution, "channels": self.channels, "width": self.width,
                "num_classes": self.num_classes, "in_mult": self.in_mult,
                "stage_mults": self.stage_mults, "blocks_per_stage": self.blocks_per_stage,
                "name": self.name}
