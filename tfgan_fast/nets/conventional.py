"""The "conventional" CIFAR networks of Tao & Wang 2020, App. D tables 9-10 (PGGAN-like, no BN).

For resolution `4 * 2^n` (n = 3 at 32 px) and width w (64), stage widths are
`c_s = w * 2^(n - s)` (512, 256, 128, 64):
G: Dense(z_dim -> c_0) -> `[B, 1, 1, c_0]` -> ConvT 4x4 valid (c_0 -> c_0, 4x4) -> ConvT 3x3
(c_0 -> c_0), then per stage s = 1..n: nearest 2x upsampling, ConvT 3x3 (c_{s-1} -> c_s),
ConvT 3x3 (c_s -> c_s); finally ConvT 1x1 (w -> channels), tanh.
D: Conv 1x1 (channels -> w), then per stage from the top: Conv 3x3 (c -> c), Conv 3x3
(c -> 2c), 2x2 average pooling; at 4x4: Conv 3x3 (c_0 -> c_0) twice; flatten; Dense(-> 1).
All hidden activations LeakyReLU(0.2) as PGGAN; the tables name no kernel sizes: 3x3 for the
hidden convolutions and 1x1 for to/from-RGB are PGGAN's.
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
class ConventionalGenerator(keras.Model):
    """Tao & Wang 2020, table 9 (see the module docstring).

    Args:
        resolution: `4 * 2^n` (32).
        channels: image channels.
        width: w (64): channels of the last stage; the first has `w * 2^n`.
        z_dim: latent size (128).
        num_classes: must be 0.
    """

    def __init__(self, resolution=32, channels=3, width=64, z_dim=128, num_classes=0,
                 **kwargs):
        super().__init__(**kwargs)
        check_unconditional("ConventionalGenerator", num_classes)
        n = num_doublings("ConventionalGenerator", resolution)
        for name, value in (("channels", channels), ("width", width), ("z_dim", z_dim)):
            check_int(f"ConventionalGenerator.{name}", value)
        self.resolution, self.channels, self.width = resolution, channels, width
        self.z_dim, self.num_classes, self.n = z_dim, num_classes, n
        c0 = width * 2 ** n
        self.fc = keras.layers.Dense(c0, name="fc")
        layers = [keras.layers.Conv2DTranspose(c0, 4, padding="valid", name="s0_deconv1"),
                  keras.layers.Conv2DTranspose(c0, 3, padding="same", name="s0_deconv2")]
        for s in range(1, n + 1):
            c = width * 2 ** (n - s)
            layers += [keras.layers.Conv2DTranspose(c, 3, padding="same", name=f"s{s}_deconv1"),
                       keras.layers.Conv2DTranspose(c, 3, padding="same", name=f"s{s}_deconv2")]
        set_layers(self, layers)
        self.to_rgb = keras.layers.Conv2DTranspose(channels, 1, name="to_rgb")
        self.upsample = keras.layers.UpSampling2D(2, interpolation="nearest")

    def call(self, z, labels=None, training=None):
        del labels, training
        h = leaky_relu(tf.reshape(self.fc(z), [-1, 1, 1, self.width * 2 ** self.n]))
        layers = get_layers(self)
        for i, layer in enumerate(layers):
            if i >= 2 and i % 2 == 0:
                h = self.upsample(h)
            h = leaky_relu(layer(h))
        return tf.tanh(tf.cast(self.to_rgb(h), tf.float32))

    def get_config(self):
        return {"resolution": self.resolution, "channels": self.channels, "width": self.width,
                "z_dim": self.z_dim, "num_classes": self.num_classes, "name": self.name}


@keras.saving.register_keras_serializable(package="tfgan_fast")
class ConventionalDiscriminator(keras.Model):
    """Tao & Wang 2020, table 10; returns `{"logits": [B]}`.

    Args:
        resolution: `4 * 2^n` (32).
        channels: image channels.
        width: w (64), channels at full resolution.
        num_classes: must be 0.
    """

    def __init__(self, resolution=32, channels=3, width=64, num_classes=0, **kwargs):
        super().__init__(**kwargs)
        check_unconditional("ConventionalDiscriminator", num_classes)
        n = num_doublings("ConventionalDiscriminator", resolution)
        for name, value in (("channels", channels), ("width", width)):
            check_int(f"ConventionalDiscriminator.{name}", value)
        self.resolution, self.channels, self.width = resolution, channels, width
        self.num_classes, self.n = num_classes, n
        self.from_rgb = keras.layers.Conv2D(width, 1, name="from_rgb")
        layers = []
        for s in range(n):
            c = width * 2 ** s
            layers += [keras.layers.Conv2D(c, 3, padding="same", name=f"d{s}_conv1"),
                       keras.layers.Conv2D(2 * c, 3, padding="same", name=f"d{s}_conv2")]
        c0 = width * 2 ** n
        layers += [keras.layers.Conv2D(c0, 3, padding="same", name=f"d{n}_conv1"),
                   keras.layers.Conv2D(c0, 3, padding="same", name=f"d{n}_conv2")]
        set_layers(self, layers)
        self.pool = keras.layers.AveragePooling2D(2)
        self.flatten = keras.layers.Flatten()
        self.fc = keras.layers.Dense(1, name="fc")

    def call(self, images, labels=None, training=None):
        del labels, training
        h = leaky_relu(self.from_rgb(images))
        for i, layer in enumerate(get_layers(self)):
            h = leaky_relu(layer(h))
            if i % 2 == 1 and i < 2 * self.n:
                h = self.pool(h)
        return {"logits": tf.cast(tf.squeeze(self.fc(self.flatten(h)), -1), tf.float32)}

    def get_config(self):
        return {"resolution": self.resolution, "channels": self.channels, "width": self.width,
                "num_classes": self.num_classes, "name": self.name}
