"""The DCGAN-based CIFAR networks of Tao & Wang 2020, App. D tables 5-6 (unconditional, NHWC).

G: Dense(z_dim -> 4w * 4 * 4) ReLU -> reshape `[B, 4, 4, 4w]` -> ConvTranspose(4w -> 2w) ReLU
-> ConvTranspose(2w -> w) ReLU -> ConvTranspose(w -> channels) tanh, each 4x4 stride 2
(4 -> 8 -> 16 -> 32 px). D: Conv(channels -> w) -> Conv(w -> 2w) -> Conv(2w -> 4w), each 4x4
stride 2 with LeakyReLU(0.2) (32 -> 16 -> 8 -> 4 px), flatten, Dense(4w * 4 * 4 -> 1).
Tao & Wang 2020 uses w = 64; other resolutions `4 * 2^n` use n up/down-sampling layers and widths
`w * 2^(n-1) ... w`. The tables name no normalisation, kernel size or activation: the
4x4-stride-2 kernels and ReLU / LeakyReLU(0.2) are DCGAN's [27].
"""

import keras
import tensorflow as tf

from tfgan_fast.nets.layers import check_int
from tfgan_fast.nets.layers import check_unconditional
from tfgan_fast.nets.layers import get_layers
from tfgan_fast.nets.layers import leaky_relu
from tfgan_fast.nets.layers import num_doublings
from tfgan_fast.nets.layers import set_layers


@keras.saving.register_keras_serializable(package="tfgan_fast")
class DCGANGenerator(keras.Model):
    """Tao & Wang 2020, table 5 (see the module docstring).

    Args:
        resolution: `4 * 2^n` output size (32).
        channels: image channels (3).
        width: w, the last hidden layer's channels (64).
        z_dim: latent size (128).
        num_classes: must be 0.

    Returns (call):
        float32 `[B, resolution, resolution, channels]` in [-1, 1].
    """

    def __init__(self, resolution=32, channels=3, width=64, z_dim=128, num_classes=0,
                 **kwargs):
        super().__init__(**kwargs)
        check_unconditional("DCGANGenerator", num_classes)
        n = num_doublings("DCGANGenerator", resolution)
        for name, value in (("channels", channels), ("width", width), ("z_dim", z_dim)):
            check_int(f"DCGANGenerator.{name}", value)
        self.resolution, self.channels, self.width = resolution, channels, width
        self.z_dim, self.num_classes = z_dim, num_classes
        self.bottom = width * 2 ** (n - 1)
        self.fc = keras.layers.Dense(4 * 4 * self.bottom, activation="relu", name="fc")
        layers = []
        for i in range(n - 1):
            layers.append(keras.layers.Conv2DTranspose(
                width * 2 ** (n - 2 - i), 4, strides=2, padding="same", activation="relu",
                name=f"deconv{i + 1}"))
        layers.append(keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same",
                                                   name=f"deconv{n}"))
        set_layers(self, layers)

    def call(self, z, labels=None, training=None):
        del labels, training
        h = tf.reshape(self.fc(z), [-1, 4, 4, self.bottom])
        for layer in get_layers(self):
            h = layer(h)
        return tf.tanh(tf.cast(h, tf.float32))

    def get_config(self):
        return {"resolution": self.resolution, "channels": self.channels, "width": self.width,
                "z_dim": self.z_dim, "num_classes": self.num_classes, "name": self.name}


@keras.saving.register_keras_serializable(package="tfgan_fast")
class DCGANDiscriminator(keras.Model):
    """Tao & Wang 2020, table 6; returns `{"logits": [B]}`.

    Args:
        resolution: `4 * 2^n` input size (32).
        channels: image channels.
        width: w, channels of the first convolution (64).
        num_classes: must be 0.
    """

    def __init__(self, resolution=32, channels=3, width=64, num_classes=0, **kwargs):
        super().__init__(**kwargs)
        check_unconditional("DCGANDiscriminator", num_classes)
        n = num_doublings("DCGANDiscriminator", resolution)
        for name, value in (("channels", channels), ("width", width)):
            check_int(f"DCGANDiscriminator.{name}", value)
        self.resolution, self.channels, self.width = resolution, channels, width
        self.num_classes = num_classes
        set_layers(self, [
            keras.layers.Conv2D(width * 2 ** i, 4, strides=2, padding="same", name=f"conv{i + 1}")
            for i in range(n)])
        self.flatten = keras.layers.Flatten()
        self.fc = keras.layers.Dense(1, name="fc")

    def call(self, images, labels=None, training=None):
        del labels, training
        h = images
        for layer in get_layers(self):
            h = leaky_relu(layer(h))
        return {"logits": tf.cast(tf.squeeze(self.fc(self.flatten(h)), -1), tf.float32)}

    def get_config(self):
        return {"resolution": self.resolution, "channels": self.channels, "width": self.width,
                "num_classes": self.num_classes, "name": self.name}
