"""The SNGAN / WGAN-GP ResNets used by FastGAN, SNGAN, RobGAN and SAGAN (channels-last).

With resolution 32, width 128, z_dim 128 and 10 classes these reproduce the FastGAN authors'
networks exactly (trainable parameters: G 1,218,307; D 1,088,139 with the AC head, 1,088,129 with
the projection head). SNGAN's CIFAR networks are G at width 256 (4,304,387) and the projection D
with `learnable_shortcut="auto"` (1,055,105). Other resolutions add residual blocks (see each
class). The arithmetic of these counts is in `tests/unit/test_nets.py`.

`channel_multipliers` switches to SNGAN's ImageNet layouts (pfnet-research/sngan_projection
`gen_models/resnet.py`, `dis_models/snresnet.py`), which FastGAN copies layer by layer (Zhong et al.
2020, §4): G `(16, 16, 8, 4, 2, 1)` / D `(1, 2, 4, 8, 16, 16)` at 128 px and G `(16, 8, 4, 2, 1)` /
D `(1, 2, 4, 8, 16)` at 64 px, with width ("ch") 64. `attention_resolution` adds SAGAN's
self-attention block (32 in G and D at 128 px).
"""
import keras
import tensorflow as tf

from tfgan_fast.nets import layers

_HEADS = ("ac", "projection", "none")


def _check_multipliers(owner, channel_multipliers, expected_length, why):
    """Returns `channel_multipliers` as a tuple of positive ints of `expected_length`."""
    values = tuple(channel_multipliers)
    if len(values) != expected_length or not all(
            isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in values):
        raise ValueError(f"{owner}: channel_multipliers={channel_multipliers!r} must be "
                         f"{expected_length} positive ints ({why}).")
    return values


def _attention_index(owner, attention_resolution, block_resolutions):
    """Index of the first block whose output is `attention_resolution` square, or None for 0."""
    if attention_resolution == 0:
        return None
    if attention_resolution in block_resolutions:
        return block_resolutions.index(attention_resolution)
    raise ValueError(f"{owner}: attention_resolution={attention_resolution!r} is not the output "
                     f"size of any block (the blocks output {block_resolutions}); use one of "
                     "those, or 0 for no self-attention.")


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
    """Conditional (or unconditional) ResNet generator of SNGAN / WGAN-GP / SAGAN.

    Dense(z_dim -> bottom_width^2 * c_0) -> reshape `[B, bw, bw, c_0]` -> n residual up-blocks
    (c_{i-1} -> c_i, conditional BN) with n = log2(resolution / bottom_width) -> BN (scale and
    offset) -> ReLU -> Conv3x3(c_n -> channels) -> tanh.

    Without `channel_multipliers` every `c_i` is `width` (the CIFAR ResNet); with them
    `c_i = width * channel_multipliers[i]` (SNGAN's ImageNet generators: ch = 64 and
    `(16, 16, 8, 4, 2, 1)` at 128 px, `(16, 8, 4, 2, 1)` at 64 px). `attention_resolution`
    inserts one `SelfAttention` after the up-block whose output is that size (SAGAN: 32 at
    128 px).

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
        channel_multipliers: None (every feature map has `width` channels) or n + 1 positive
            ints: the bottom map has `width * m[0]` channels and up-block i outputs
            `width * m[i]`.
        attention_resolution: insert a `SelfAttention` after the up-block whose output is this
            size; 0 for none.
        spectral_norm: wrap the dense layer and every convolution in
            `keras.layers.SpectralNormalization` (SAGAN); conditional-BN tables are not.
        init: "chainer" (SNGAN's code: gain sqrt(2) in residual convolutions, zero biases) or
            "pytorch" (the FastGAN / RobGAN authors' code: Xavier gain 1 everywhere, PyTorch's
            default biases); see `tfgan_fast.nets.layers`.
        **kwargs: forwarded to `keras.Model` (e.g. `name`, `dtype`).

    Call args:
        z: float32 `[B, z_dim]`.
        labels: int32 `[B]` in `[0, num_classes)`; may be None when `num_classes == 0`.
        training: batch statistics in BN (True) or moving averages; advances the spectral-norm
            power iterations.

    Returns:
        float32 `[B, resolution, resolution, channels]` in `[-1, 1]`.

    Raises:
        ValueError: on a resolution that is not `bottom_width * 2^k`, `channel_multipliers` of
            the wrong length, or an `attention_resolution` that no block outputs.
    """

    def __init__(self, resolution=32, channels=3, width=128, z_dim=128, num_classes=10,
                 bottom_width=4, sync_bn=True, channel_multipliers=None, attention_resolution=0,
                 spectral_norm=False, init="chainer", **kwargs):
        super().__init__(**kwargs)
        layers.check_int("ResNetGenerator.bottom_width", bottom_width)
        self.init = layers.check_init("ResNetGenerator", init)
        num_up = layers.num_doublings("ResNetGenerator", resolution, base=bottom_width)
        if channel_multipliers is None:
            multipliers = (1,) * (num_up + 1)
        else:
            multipliers = _check_multipliers(
                "ResNetGenerator", channel_multipliers, num_up + 1,
                f"the bottom map and {num_up} up-blocks from {bottom_width} to {resolution} px")
            channel_multipliers = multipliers
        attention_index = _attention_index(
            "ResNetGenerator", attention_resolution,
            [bottom_width * 2 ** (i + 1) for i in range(num_up)])
        self.resolution = resolution
        self.channels = channels
        self.width = width
        self.z_dim = z_dim
        self.num_classes = num_classes
        self.bottom_width = bottom_width
        self.sync_bn = sync_bn
        self.channel_multipliers = channel_multipliers
        self.attention_resolution = attention_resolution
        self.spectral_norm = spectral_norm
        self._bottom_channels = width * multipliers[0]
        self._attention_index = attention_index

        self.dense = layers.spectral_norm_if(
            keras.layers.Dense(bottom_width * bottom_width * self._bottom_channels, name="dense",
                               **layers.initializers(init, z_dim)), spectral_norm)
        _set_blocks(self, [layers.ResBlockUp(width * multipliers[i + 1], num_classes=num_classes,
                                             upsample=True, sync_bn=sync_bn,
                                             spectral_norm=spectral_norm, init=init,
                                             name=f"block{i + 1}")
                           for i in range(num_up)])
        if attention_index is not None:
            self.attention = layers.SelfAttention(spectral_norm=spectral_norm, name="attention")
        self.bn = layers.FusedBatchNorm(momentum=0.9, epsilon=2e-5, synchronized=sync_bn,
                                       name="bn")
        self.conv_out = layers.spectral_norm_if(
            keras.layers.Conv2D(channels, 3, padding="same", name="conv_out",
                                **layers.initializers(init, 9 * width * multipliers[-1])),
            spectral_norm)
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
        h = self.dense(z, training=training)
        h = tf.reshape(h, [-1, self.bottom_width, self.bottom_width, self._bottom_channels])
        for i, block in enumerate(self.blocks):
            h = block(h, labels, training=training)
            if i == self._attention_index:
                h = self.attention(h, training=training)
        h = tf.nn.relu(self.bn(h, training=training))
        return self.tanh(self.conv_out(h, training=training))

    def get_config(self):
        config = super().get_config()
        config.update(resolution=self.resolution, channels=self.channels, width=self.width,
                      z_dim=self.z_dim, num_classes=self.num_classes,
                      bottom_width=self.bottom_width, sync_bn=self.sync_bn,
                      channel_multipliers=(None if self.channel_multipliers is None
                                           else list(self.channel_multipliers)),
                      attention_resolution=self.attention_resolution,
                      spectral_norm=self.spectral_norm, init=self.init)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class ResNetDiscriminator(keras.Model):
    """ResNet discriminator of SNGAN / WGAN-GP / SAGAN, with AC, projection or no class head.

    Features phi, without `channel_multipliers` (the CIFAR ResNet): an optimized down-block
    (channels -> width), log2(resolution / 8) - 1 further down-blocks and two blocks without
    downsampling, all at `width` channels (the final map is 8x8, e.g. 32 -> 16 -> 8 -> 8 -> 8).
    With `channel_multipliers` `m` (SNGAN's ImageNet discriminators, `dis_models/snresnet*.py`):
    an optimized block to `width * m[0]`, then blocks to `width * m[i]` whose first convolution
    keeps the input channels (SNGAN's `hidden_channels = in_channels`), all downsampling except
    the last, so the final map is 4x4 (128 -> 64 -> 32 -> 16 -> 8 -> 4 -> 4 with
    `(1, 2, 4, 8, 16, 16)`; 64 -> 32 -> 16 -> 8 -> 4 -> 4 with `(1, 2, 4, 8, 16)`). With
    `downsample_last=True` the last block downsamples too, which is SNGAN's and RobGAN's 64 px
    discriminator exactly (`snresnet_64.py`: 64 -> ... -> 2x2); the parameter count is the same.
    Then ReLU and a global **sum** over space: `[B, C_final]`. `attention_resolution` inserts one
    `SelfAttention` after the first block whose output is that size (SAGAN: 32 at 128 px).

    Heads: "ac" = Dense(1) adversarial logit + Dense(num_classes) class logits (FastGAN's D);
    "projection" = `psi(phi) + <embed(y), phi>` (SNGAN; the embedding has C_final columns);
    "none" = Dense(1) (unconditional).

    Args:
        resolution: input height and width; a power of two >= 16.
        channels: input image channels.
        width: feature maps in every block (the CIFAR layout) or the base width ("ch").
        num_classes: classes of the AC / projection head (unused by "none").
        head: "ac", "projection" or "none".
        spectral_norm: wrap every convolution and dense layer (and the projection embedding) in
            `keras.layers.SpectralNormalization` (SNGAN).
        learnable_shortcut: "always" (Conv1x1 shortcut in every block, FastGAN's code) or "auto"
            (only where the channels change or the block downsamples, SNGAN's code).
        channel_multipliers: None (the CIFAR layout) or log2(resolution) - 1 positive ints, the
            output channels of each block in units of `width`.
        attention_resolution: insert a `SelfAttention` after the first block whose output is this
            size; 0 for none.
        downsample_last: let the last block downsample too, so that D ends at 2x2: with
            `channel_multipliers`, SNGAN's 64 px layout; without, log2(resolution) - 1 blocks
            of `width` channels, every one downsampling (the FastGAN authors' code's CIFAR D,
            32 -> 16 -> 8 -> 4 -> 2).
        init: "chainer" or "pytorch", as for `ResNetGenerator`.
        **kwargs: forwarded to `keras.Model`.

    Call args:
        images: float `[B, resolution, resolution, channels]` in `[-1, 1]`.
        labels: int32 `[B]`; required by the projection head, ignored by the others.
        training: advances the spectral-norm power iterations when True.

    Returns:
        `{"logits": float32 [B]}`, plus `"class_logits": float32 [B, num_classes]` for head="ac".

    Raises:
        ValueError: on a resolution that is not a power of two >= 16, an unknown head,
            `channel_multipliers` of the wrong length, an `attention_resolution` that no block
            outputs, or a projection head called without labels.
    """

    def __init__(self, resolution=32, channels=3, width=128, num_classes=10, head="ac",
                 spectral_norm=False, learnable_shortcut="always", channel_multipliers=None,
                 attention_resolution=0, downsample_last=False, init="chainer", **kwargs):
        super().__init__(**kwargs)
        log2_res = layers.num_doublings("ResNetDiscriminator", resolution, base=1, minimum=4)
        self.init = layers.check_init("ResNetDiscriminator", init)
        if head not in _HEADS:
            raise ValueError(f"ResNetDiscriminator: head must be one of {_HEADS}, got {head!r}.")
        if head != "none" and num_classes < 1:
            raise ValueError(f"ResNetDiscriminator: head={head!r} needs num_classes >= 1, got "
                             f"{num_classes}.")
        if downsample_last and channel_multipliers is None:
            # Every block downsamples, all at `width`: the FastGAN authors' CIFAR D at 32 px.
            channel_multipliers = [1] * (log2_res - 1)
        self.resolution = resolution
        self.channels = channels
        self.width = width
        self.num_classes = num_classes
        self.head = head
        self.spectral_norm = spectral_norm
        self.learnable_shortcut = learnable_shortcut
        self.attention_resolution = attention_resolution
        self.downsample_last = bool(downsample_last)

        def block(i, filters, **kw):
            return layers.ResBlockDown(filters, learnable_shortcut=learnable_shortcut,
                                       spectral_norm=spectral_norm, init=init,
                                       name=f"block{i + 1}", **kw)

        if channel_multipliers is None:
            num_down = log2_res - 3  # down to 8x8, the first pooling inside the optimized block
            blocks = [block(0, width, downsample=True, optimized=True)]
            blocks += [block(i, width, downsample=True) for i in range(1, num_down)]
            blocks += [block(i, width, downsample=False) for i in range(num_down, num_down + 2)]
            sizes = [resolution // 2 ** min(i + 1, num_down) for i in range(num_down + 2)]
        else:
            num_blocks = log2_res - 1
            channel_multipliers = _check_multipliers(
                "ResNetDiscriminator", channel_multipliers, num_blocks,
                f"one per block; {num_blocks} blocks take {resolution} px to 4x4")
            filters = [width * m for m in channel_multipliers]
            blocks = [block(0, filters[0], downsample=True, optimized=True)]
            blocks += [block(i, filters[i], hidden_channels=filters[i - 1],
                             downsample=(i < num_blocks - 1 or self.downsample_last))
                       for i in range(1, num_blocks)]
            sizes = [resolution // 2 ** (i + 1) for i in range(num_blocks - 1)]
            sizes.append(sizes[-1] // 2 if self.downsample_last else sizes[-1])
        self.channel_multipliers = channel_multipliers
        self._attention_index = _attention_index("ResNetDiscriminator", attention_resolution,
                                                 sizes)
        _set_blocks(self, blocks)
        if self._attention_index is not None:
            self.attention = layers.SelfAttention(spectral_norm=spectral_norm, name="attention")
        # Heads in float32: logits feed losses and must not round to bfloat16.
        if head == "ac":
            self.head_layer = layers.ACHead(num_classes, spectral_norm=spectral_norm, init=init,
                                            dtype="float32", name="ac_head")
        elif head == "projection":
            self.head_layer = layers.ProjectionHead(num_classes, spectral_norm=spectral_norm,
                                                    init=init, dtype="float32",
                                                    name="projection_head")
        else:
            self.head_layer = layers.spectral_norm_if(
                keras.layers.Dense(1, dtype="float32", name="adv",
                                   **layers.initializers(init, blocks[-1].filters)),
                spectral_norm)

    @property
    def blocks(self):
        """The residual down-blocks, input to output."""
        return _get_blocks(self)

    def features(self, images, training=None):
        """phi: `[B, resolution, resolution, channels]` -> float32 `[B, C_final]`."""
        h = images
        for i, block in enumerate(self.blocks):
            h = block(h, training=training)
            if i == self._attention_index:
                h = self.attention(h, training=training)
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
                      learnable_shortcut=self.learnable_shortcut,
                      channel_multipliers=(None if self.channel_multipliers is None
                                           else list(self.channel_multipliers)),
                      attention_resolution=self.attention_resolution,
                      downsample_last=self.downsample_last, init=self.init)
        return config
