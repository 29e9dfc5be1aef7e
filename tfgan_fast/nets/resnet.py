"""The SNGAN / WGAN-GP CIFAR ResNets used by FastGAN, SNGAN and RobGAN (channels-last).

With resolution 32, width 128, z_dim 128 and 10 classes these reproduce the FastGAN authors'
networks exactly (trainable parameters: G 1,218,307; D 1,088,139 with the AC head, 1,088,129 with
the projection head). SNGAN's CIFAR networks are G at width 256 (4,304,387) and the projection D
with `learnable_shortcut="auto"` (1,055,105). Other resolutions add residual blocks (see each
class). The arithmetic of these counts is in `tests/test_nets.py`.
"""
import keras
import tensorflow as tf

from tfgan_fast.nets import layers

_HEADS = ("ac", "projection", "none")


def _log2_exact(value):
    """`log2(value)` if `value` is a positive integer power of two, else None."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return None
    if value & (value - 1):
        return None
    return value.bit_length() - 1


def _set_blocks(model, blocks):
    """Stores `blocks` as attributes `block1`, `block2`, ... of `model`.

    A Python list attribute of a Keras 3 layer is tracked by Keras (weights, summaries) but is not
    a TensorFlow checkpoint dependency, so `tf.train.Checkpoint` would silently skip every layer
    in it; named attributes are saved and restored.
    """
    model._block_names = tuple(block.name for block in blocks)
    for block in blocks:
        setattr(model, block.name, block)


def _get_blocks(model):
    return [getattr(model, name) for name in model._block_names]


@keras.saving.register_keras_serializable(package="tfgan_fast")
class ResNetGenerator(keras.Model):
    """Conditional (or unconditional) ResNet generator of SNGAN / WGAN-GP for CIFAR.

    Dense(z_dim -> bottom_width^2 * width) -> reshape `[B, bw, bw, width]` -> n residual
    up-blocks (width -> width, conditional BN) with n = log2(resolution / bottom_width) -> BN
    (scale and offset) -> ReLU -> Conv3x3(width -> channels) -> tanh.

    Args:
        resolution: output height and width; must be `bottom_width * 2^k`, k >= 1.
        channels: output image channels.
        width: feature maps in every block.
        z_dim: latent size.
        num_classes: classes of the conditional BN; 0 makes G unconditional (plain BN, labels
            ignored).
        bottom_width: spatial size of the first feature map.
        sync_bn: batch-norm moments over the global batch under a multi-replica strategy, so that
            an N-replica step equals the one-device step on the same global batch.
        **kwargs: forwarded to `keras.Model` (e.g. `name`, `dtype`).

    Call args:
        z: float32 `[B, z_dim]`.
        labels: int32 `[B]` in `[0, num_classes)`; may be None when `num_classes == 0`.
        training: batch statistics in BN (True) or moving averages.

    Returns:
        float32 `[B, resolution, resolution, channels]` in `[-1, 1]`.

    Raises:
        ValueError: on a resolution that is not `bottom_width * 2^k`.
    """

    def __init__(self, resolution=32, channels=3, width=128, z_dim=128, num_classes=10,
                 bottom_width=4, sync_bn=True, **kwargs):
        super().__init__(**kwargs)
        num_up = None
        if (isinstance(resolution, int) and isinstance(bottom_width, int) and bottom_width > 0
                and resolution % bottom_width == 0):
            num_up = _log2_exact(resolution // bottom_width)
        if not num_up:
            raise ValueError(f"ResNetGenerator: resolution={resolution!r} must be "
                             f"bottom_width * 2^k with k >= 1 (bottom_width={bottom_width}).")
        self.resolution = resolution
        self.channels = channels
        self.width = width
        self.z_dim = z_dim
        self.num_classes = num_classes
        self.bottom_width = bottom_width
        self.sync_bn = sync_bn

        self.dense = keras.layers.Dense(bottom_width * bottom_width * width,
                                        kernel_initializer="glorot_uniform", name="dense")
        _set_blocks(self, [layers.ResBlockUp(width, num_classes=num_classes, upsample=True,
                                             sync_bn=sync_bn, name=f"block{i + 1}")
                           for i in range(num_up)])
        self.bn = layers.SyncBatchNorm(momentum=0.9, epsilon=2e-5, synchronized=sync_bn,
                                       name="bn")
        self.conv_out = keras.layers.Conv2D(channels, 3, padding="same",
                                            kernel_initializer="glorot_uniform", name="conv_out")
        # float32 output under mixed precision: losses and image metrics expect it.
        self.tanh = keras.layers.Activation("tanh", dtype="float32", name="tanh")

    @property
    def blocks(self):
        """The residual up-blocks, input to output."""
        return _get_blocks(self)

    def call(self, z, labels=None, training=None):
        if self.num_classes > 0:
            if labels is None:
                raise ValueError("ResNetGenerator: labels are required when num_classes > 0.")
        else:
            labels = None
        h = self.dense(z)
        h = tf.reshape(h, [-1, self.bottom_width, self.bottom_width, self.width])
        for block in self.blocks:
            h = block(h, labels, training=training)
        h = tf.nn.relu(self.bn(h, training=training))
        return self.tanh(self.conv_out(h))

    def get_config(self):
        config = super().get_config()
        config.update(resolution=self.resolution, channels=self.channels, width=self.width,
                      z_dim=self.z_dim, num_classes=self.num_classes,
                      bottom_width=self.bottom_width, sync_bn=self.sync_bn)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class ResNetDiscriminator(keras.Model):
    """ResNet discriminator of SNGAN / WGAN-GP for CIFAR, with AC, projection or no class head.

    Features phi: an optimized down-block (channels -> width), log2(resolution / 8) - 1 further
    down-blocks and two blocks without downsampling, all at `width` channels (the final map is
    8x8, e.g. 32 -> 16 -> 8 -> 8 -> 8), then ReLU and a global **sum** over space: `[B, width]`.

    Heads: "ac" = Dense(1) adversarial logit + Dense(num_classes) class logits (FastGAN's D);
    "projection" = `psi(phi) + <embed(y), phi>` (SNGAN); "none" = Dense(1) (unconditional).

    Args:
        resolution: input height and width; a power of two >= 16.
        channels: input image channels.
        width: feature maps in every block.
        num_classes: classes of the AC / projection head (unused by "none").
        head: "ac", "projection" or "none".
        spectral_norm: wrap every convolution and dense layer (and the projection embedding) in
            `keras.layers.SpectralNormalization` (SNGAN).
        learnable_shortcut: "always" (Conv1x1 shortcut in every block, FastGAN's code) or "auto"
            (only where the channels change or the block downsamples, SNGAN's code).
        **kwargs: forwarded to `keras.Model`.

    Call args:
        images: float `[B, resolution, resolution, channels]` in `[-1, 1]`.
        labels: int32 `[B]`; required by the projection head, ignored by the others.
        training: advances the spectral-norm power iterations when True.

    Returns:
        `{"logits": float32 [B]}`, plus `"class_logits": float32 [B, num_classes]` for head="ac".

    Raises:
        ValueError: on a resolution that is not a power of two >= 16, an unknown head, or a
            projection head called without labels.
    """

    def __init__(self, resolution=32, channels=3, width=128, num_classes=10, head="ac",
                 spectral_norm=False, learnable_shortcut="always", **kwargs):
        super().__init__(**kwargs)
        log2_res = _log2_exact(resolution)
        if log2_res is None or resolution < 16:
            raise ValueError(f"ResNetDiscriminator: resolution={resolution!r} must be a power of "
                             "two >= 16.")
        if head not in _HEADS:
            raise ValueError(f"ResNetDiscriminator: head must be one of {_HEADS}, got {head!r}.")
        if head != "none" and num_classes < 1:
            raise ValueError(f"ResNetDiscriminator: head={head!r} needs num_classes >= 1, got "
                             f"{num_classes}.")
        self.resolution = resolution
        self.channels = channels
        self.width = width
        self.num_classes = num_classes
        self.head = head
        self.spectral_norm = spectral_norm
        self.learnable_shortcut = learnable_shortcut

        num_down = log2_res - 3  # down to 8x8, the first pooling inside the optimized block

        def block(i, **kw):
            return layers.ResBlockDown(width, learnable_shortcut=learnable_shortcut,
                                       spectral_norm=spectral_norm, name=f"block{i + 1}", **kw)

        blocks = [block(0, downsample=True, optimized=True)]
        blocks += [block(i, downsample=True) for i in range(1, num_down)]
        blocks += [block(i, downsample=False) for i in range(num_down, num_down + 2)]
        _set_blocks(self, blocks)
        # Heads in float32: logits feed losses and must not round to bfloat16.
        if head == "ac":
            self.head_layer = layers.ACHead(num_classes, spectral_norm=spectral_norm,
                                            dtype="float32", name="ac_head")
        elif head == "projection":
            self.head_layer = layers.ProjectionHead(num_classes, spectral_norm=spectral_norm,
                                                    dtype="float32", name="projection_head")
        else:
            self.head_layer = layers._maybe_spectral_norm(
                keras.layers.Dense(1, kernel_initializer="glorot_uniform", dtype="float32",
                                   name="adv"), spectral_norm)

    @property
    def blocks(self):
        """The residual down-blocks, input to output."""
        return _get_blocks(self)

    def features(self, images, training=None):
        """phi: `[B, resolution, resolution, channels]` -> float32 `[B, width]`."""
        h = images
        for block in self.blocks:
            h = block(h, training=training)
        # Sum in float32: 64 bfloat16 terms would lose most of their mantissa.
        return tf.reduce_sum(tf.nn.relu(tf.cast(h, tf.float32)), axis=[1, 2])

    def call(self, images, labels=None, training=None):
        phi = self.features(images, training=training)
        if self.head == "ac":
            return self.head_layer(phi, training=training)
        if self.head == "projection":
            if labels is None:
                raise ValueError("ResNetDiscriminator(head='projection') needs labels, got None.")
            return self.head_layer(phi, labels, training=training)
        return {"logits": tf.squeeze(self.head_layer(phi, training=training), axis=-1)}

    def get_config(self):
        config = super().get_config()
        config.update(resolution=self.resolution, channels=self.channels, width=self.width,
                      num_classes=self.num_classes, head=self.head,
                      spectral_norm=self.spectral_norm,
                      learnable_shortcut=self.learnable_shortcut)
        return config
