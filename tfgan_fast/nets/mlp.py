"""The unconditional synthetic-data MLPs of Tao & Wang 2020, App. D tables 3-4 (Thanh-Tung et al.
2019's networks).

G: Dense(z_dim -> width) ReLU, (depth - 1) x [Dense(width -> width) ReLU], Dense(width -> out).
D: Dense(in -> width) ReLU, (depth - 1) x [Dense(width -> width) ReLU], Dense(width -> 1). Tao &
Wang 2020 uses width 64, depth 3 (four dense layers) and z_dim 2 on 2-D points. For vector data
(`resolution=None`) the sample is `[B, channels]` with a linear output layer (as Thanh-Tung et al.
2019); with an image resolution the output is a `tanh` image `[B, resolution, resolution,
channels]`.
"""

import keras
import tensorflow as tf

from tfgan_fast.nets.layers import check_int
from tfgan_fast.nets.layers import check_unconditional
from tfgan_fast.nets.layers import get_layers
from tfgan_fast.nets.layers import fan_in_uniform, set_layers


def dense(units, fan_in, torch_init, name, activation=None):
    """A Dense layer; with `torch_init`, PyTorch's `nn.Linear` default initialisation.

    PyTorch draws weights and biases from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (Keras: Glorot weights,
    zero biases). Tao & Wang 2020 / Thanh-Tung et al. 2019 train these MLPs in PyTorch; with Keras'
    zero biases the discriminator's ReLUs can all switch off under the zero-centred penalty (a
    constant D, after which G receives no gradient), which the PyTorch initialisation makes much
    less likely.
    """
    if not torch_init:
        return keras.layers.Dense(units, activation=activation, name=name)
    return keras.layers.Dense(
        units, activation=activation, name=name,
        kernel_initializer=fan_in_uniform(fan_in), bias_initializer=fan_in_uniform(fan_in))


def _hidden_layers(model, fan_in, width, depth, torch_init):
    set_layers(model, [dense(width, fan_in if i == 0 else width, torch_init, f"dense{i + 1}",
                             activation="relu") for i in range(depth)], "_hidden_names")


@keras.saving.register_keras_serializable(package="tfgan_fast")
class MLPGenerator(keras.Model):
    """Tao & Wang 2020, table 3.

    Args:
        resolution: None for vector samples `[B, channels]`; an int for `tanh` images.
        channels: output dimension (2 for the 2-D sets) or image channels.
        width: hidden units (64).
        depth: hidden layers (3).
        z_dim: latent size (2 in Tao & Wang 2020).
        num_classes: must be 0.
        torch_init: PyTorch's default initialisation (see `dense`), as the paper's code.

    Call args:
        z: `[B, z_dim]`; labels: ignored (None); training: unused.

    Returns:
        `[B, channels]` or `[B, resolution, resolution, channels]`.
    """

    def __init__(self, resolution=None, channels=2, width=64, depth=3, z_dim=2, num_classes=0,
                 torch_init=True, **kwargs):
        super().__init__(**kwargs)
        check_unconditional("MLPGenerator", num_classes)
        for name, value in (("MLPGenerator.channels", channels), ("MLPGenerator.width", width),
                            ("MLPGenerator.depth", depth), ("MLPGenerator.z_dim", z_dim)):
            check_int(name, value)
        if resolution is not None:
            check_int("MLPGenerator.resolution", resolution)
        self.resolution, self.channels, self.width = resolution, channels, width
        self.depth, self.z_dim, self.num_classes = depth, z_dim, num_classes
        self.torch_init = bool(torch_init)
        _hidden_layers(self, z_dim, width, depth, self.torch_init)
        out = channels if resolution is None else resolution * resolution * channels
        self.out = dense(out, width, self.torch_init, "out")

    def call(self, z, labels=None, training=None):
        del labels, training
        h = z
        for layer in get_layers(self, "_hidden_names"):
            h = layer(h)
        x = tf.cast(self.out(h), tf.float32)
        if self.resolution is None:
            return x
        return tf.tanh(tf.reshape(x, [-1, self.resolution, self.resolution, self.channels]))

    def get_config(self):
        return {"resolution": self.resolution, "channels": self.channels, "width": self.width,
                "depth": self.depth, "z_dim": self.z_dim, "num_classes": self.num_classes,
                "torch_init": self.torch_init, "name": self.name}


@keras.saving.register_keras_serializable(package="tfgan_fast")
class MLPDiscriminator(keras.Model):
    """Tao & Wang 2020, table 4; returns `{"logits": [B]}` (pre-sigmoid `D0`).

    Args:
        resolution: None for vector inputs; images are flattened.
        channels: input dimension or image channels.
        width: hidden units (64).
        depth: hidden layers (3).
        num_classes: must be 0.
        torch_init: PyTorch's default initialisation (see `dense`).
    """

    def __init__(self, resolution=None, channels=2, width=64, depth=3, num_classes=0,
                 torch_init=True, **kwargs):
        super().__init__(**kwargs)
        check_unconditional("MLPDiscriminator", num_classes)
        for name, value in (("MLPDiscriminator.channels", channels),
                            ("MLPDiscriminator.width", width),
                            ("MLPDiscriminator.depth", depth)):
            check_int(name, value)
        self.resolution, self.channels, self.width = resolution, channels, width
        self.depth, self.num_classes = depth, num_classes
        self.torch_init = bool(torch_init)
        self.flatten = keras.layers.Flatten()
        fan_in = channels if resolution is None else resolution * resolution * channels
        _hidden_layers(self, fan_in, width, depth, self.torch_init)
        self.out = dense(1, width, self.torch_init, "out")

    def call(self, x, labels=None, training=None):
        del labels, training
        h = self.flatten(x)
        for layer in get_layers(self, "_hidden_names"):
            h = layer(h)
        return {"logits": tf.cast(tf.squeeze(self.out(h), -1), tf.float32)}

    def get_config(self):
        return {"resolution": self.resolution, "channels": self.channels, "width": self.width,
                "depth": self.depth, "num_classes": self.num_classes,
                "torch_init": self.torch_init, "name": self.name}
