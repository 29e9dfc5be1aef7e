"""SN-GAN's "standard CNN" (Miyato et al. 2018, Table 3): the CIFAR model of Wu et al. 2019, §5.1.

Wu et al. 2019, §5.1 ("Experiments with DCGAN on CIFAR") applies LOGAN to the SN-GAN of CS-GAN (Wu
et al. 2019), whose baseline scores (IS 7.42, FID 29.3, Wu et al. 2019, Table 2) are those of
SN-GAN's standard CNN, not of its ResNet (8.22 / 21.7). The model is unconditional in Wu et al.
2019; `conditional=True` adds conditional BN in G and a projection head in D.

G: Dense(z -> bw*bw*width) -> BN -> ReLU -> k x [Deconv4x4/2 (channels halve) -> BN -> ReLU]
   -> Conv3x3(-> channels) -> tanh; k = log2(resolution / bw). At CIFAR size (width 512, bw 4)
   that is 512 -> 256 -> 128 -> 64 channels.
D: pairs [Conv3x3/1, Conv4x4/2] at 64, 128, 256 channels (one pair per halving, channels double),
   Conv3x3/1 at 512, leaky ReLU 0.1 after every convolution, Dense(1); spectral norm on every
   layer by default.
"""
import keras
import tensorflow as tf

from tfgan_fast.nets import layers


@keras.saving.register_keras_serializable(package="tfgan_fast")
class SNGANCNNGenerator(keras.Model):
    """SN-GAN standard-CNN generator (Miyato et al. 2018, Table 3a).

    Args:
        resolution: output size, `bottom_width * 2^k`.
        channels: output channels.
        width: channels after the dense layer (512); halved by every deconvolution.
        z_dim: latent size (128).
        num_classes: C; used only when `conditional`.
        conditional: conditional BN (`layers.ConditionalBatchNorm`) instead of plain BN.
        bottom_width: first feature map size (4).
        sync_bn: batch moments over all replicas.
        **kwargs: forwarded to `keras.Model`.

    Call args:
        z: `[B, z_dim]`; labels: int32 `[B]` (ignored unless `conditional`); training.

    Returns:
        float32 `[B, resolution, resolution, channels]` in [-1, 1].
    """

    def __init__(self, resolution=32, channels=3, width=512, z_dim=128, num_classes=0,
                 conditional=False, bottom_width=4, sync_bn=True, **kwargs):
        super().__init__(**kwargs)
        num_up = layers.num_doublings("SNGANCNNGenerator", resolution, base=bottom_width)
        if conditional and num_classes < 1:
            raise ValueError(f"SNGANCNNGenerator: conditional=True needs num_classes >= 1, "
                             f"got {num_classes}.")
        if width // 2 ** num_up < 1:
            raise ValueError(f"SNGANCNNGenerator: width={width} is too small for "
                             f"{num_up} halvings.")
        self.resolution, self.channels, self.width = resolution, channels, width
        self.z_dim, self.num_classes, self.conditional = z_dim, num_classes, conditional
        self.bottom_width, self.sync_bn = bottom_width, sync_bn

        def norm(name):
            if conditional:
                return layers.ConditionalBatchNorm(num_classes, synchronized=sync_bn, name=name)
            return layers.FusedBatchNorm(momentum=0.9, epsilon=2e-5, synchronized=sync_bn,
                                        name=name)

        self.dense = keras.layers.Dense(bottom_width * bottom_width * width, name="dense")
        self.bn0 = norm("bn0")
        self._num_up = num_up
        for i in range(num_up):
            setattr(self, f"deconv{i + 1}", keras.layers.Conv2DTranspose(
                width // 2 ** (i + 1), 4, strides=2, padding="same", name=f"deconv{i + 1}"))
            setattr(self, f"bn{i + 1}", norm(f"bn{i + 1}"))
        self.conv_out = keras.layers.Conv2D(channels, 3, padding="same", name="conv_out")
        self.tanh = keras.layers.Activation("tanh", dtype="float32", name="tanh")

    def _bn(self, layer, h, labels, training):
        if self.conditional:
            if labels is None:
                raise ValueError("SNGANCNNGenerator(conditional=True) needs labels, got None.")
            return layer(h, labels, training=training)
        return layer(h, training=training)

    def call(self, z, labels=None, training=None):
        h = tf.reshape(self.dense(z), [-1, self.bottom_width, self.bottom_width, self.width])
        h = tf.nn.relu(self._bn(self.bn0, h, labels, training))
        for i in range(self._num_up):
            h = getattr(self, f"deconv{i + 1}")(h)
            h = tf.nn.relu(self._bn(getattr(self, f"bn{i + 1}"), h, labels, training))
        return self.tanh(self.conv_out(h))

    def get_config(self):
        config = super().get_config()
        config.update(resolution=self.resolution, channels=self.channels, width=self.width,
                      z_dim=self.z_dim, num_classes=self.num_classes,
                      conditional=self.conditional, bottom_width=self.bottom_width,
                      sync_bn=self.sync_bn)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class SNGANCNNDiscriminator(keras.Model):
    """SN-GAN standard-CNN discriminator (Miyato et al. 2018, Table 3b).

    Args:
        resolution: input size, `bottom_width * 2^k`.
        channels: input channels.
        width: channels of the first pair (64); doubled by every further pair, the last
            Conv3x3 has `width * 2^k` (512 at CIFAR size).
        num_classes: C; used only when `conditional`.
        conditional: a projection head (`layers.ProjectionHead`) instead of Dense(1).
        spectral_norm: `keras.layers.SpectralNormalization` on every layer (SN-GAN).
        leaky_slope: negative slope of the leaky ReLUs (0.1).
        bottom_width: the last feature map size (4).
        **kwargs: forwarded to `keras.Model`.

    Call args:
        images `[B, H, W, C]`; labels int32 `[B]` (needed when `conditional`); training.

    Returns:
        `{"logits": float32 [B]}`.
    """

    def __init__(self, resolution=32, channels=3, width=64, num_classes=0, conditional=False,
                 spectral_norm=True, leaky_slope=0.1, bottom_width=4, **kwargs):
        super().__init__(**kwargs)
        num_down = layers.num_doublings("SNGANCNNDiscriminator", resolution, base=bottom_width)
        if conditional and num_classes < 1:
            raise ValueError(f"SNGANCNNDiscriminator: conditional=True needs num_classes >= 1, "
                             f"got {num_classes}.")
        self.resolution, self.channels, self.width = resolution, channels, width
        self.num_classes, self.conditional = num_classes, conditional
        self.spectral_norm, self.leaky_slope, self.bottom_width = (spectral_norm, leaky_slope,
                                                                   bottom_width)
        self._num_convs = 2 * num_down + 1
        for i in range(num_down):
            filters = width * 2 ** i
            setattr(self, f"conv{2 * i + 1}", layers.spectral_norm_if(keras.layers.Conv2D(
                filters, 3, padding="same", name=f"conv{2 * i + 1}"), spectral_norm))
            setattr(self, f"conv{2 * i + 2}", layers.spectral_norm_if(keras.layers.Conv2D(
                filters, 4, strides=2, padding="same", name=f"conv{2 * i + 2}"), spectral_norm))
        setattr(self, f"conv{2 * num_down + 1}", layers.spectral_norm_if(keras.layers.Conv2D(
            width * 2 ** num_down, 3, padding="same", name=f"conv{2 * num_down + 1}"),
            spectral_norm))
        self.flatten = keras.layers.Flatten(name="flatten")
        if conditional:
            self.head = layers.ProjectionHead(num_classes, spectral_norm=spectral_norm,
                                              dtype="float32", name="projection_head")
        else:
            self.head = layers.spectral_norm_if(keras.layers.Dense(1, dtype="float32", name="adv"), spectral_norm)

    def call(self, images, labels=None, training=None):
        h = images
        for i in range(self._num_convs):
            h = layers.masked_activation(getattr(self, f"conv{i + 1}")(h, training=training),
                                         self.leaky_slope)
        h = tf.cast(self.flatten(h), tf.float32)
        if self.conditional:
            if labels is None:
                raise ValueError("SNGANCNNDiscriminator(conditional=True) needs labels.")
            return self.head(h, labels, training=training)
        return {"logits": tf.squeeze(self.head(h, training=training), axis=-1)}

    def get_config(self):
        config = super().get_config()
        config.update(resolution=self.resolution, channels=self.channels, width=self.width,
                      num_classes=self.num_classes, conditional=self.conditional,
                      spectral_norm=self.spectral_norm, leaky_slope=self.leaky_slope,
                      bottom_width=self.bottom_width)
        return config
