"""BigGAN-deep-style networks (Brock et al. 2018, App. B; Wu et al. 2019, §5.2.1), channels-last.

Generator: `cond = [z, E(y)]` with one shared class embedding `E` (skip-z: the whole z goes to
every block; `hierarchical_z=True` instead splits z into one chunk per stage plus one for the
input layer, as BigGAN). `Dense(cond) -> [4, 4, m_0 * width]`, then per stage `blocks_per_stage`
bottleneck residual blocks (the last one upsamples and changes the channels to `m_{i+1} * width`),
optional self-attention at `attention_resolution`, `BN -> act -> Conv3x3 -> tanh`.

G block (BigGAN-deep): `h = conv1x1(act(cBN(x)))` to `C_in / 4`; `act(cBN)`; [up]; conv3x3;
`act(cBN)`; conv3x3; `act(cBN)`; conv1x1 to `C_out`; skip: the first `C_out` channels of x,
[up]. Conditional BN: `BN(x) * (1 + W_g cond) + W_b cond` (bias-free linear maps of `cond`).

D block: `conv1x1(act(x))` to `C_out / 4`; conv3x3; conv3x3; act; [avgpool]; conv1x1 to `C_out`;
skip: [avgpool], then `concat(x, conv1x1(x))` to `C_out` channels when they grow.
D: Conv3x3(-> m_0 * width), blocks, optional self-attention, act, global sum, projection head
(`psi(phi) + <V[y], phi>`) or Dense(1) when unconditional.

Spectral norm (`keras.layers.SpectralNormalization`) on every convolution and dense layer of both
networks by default, as in BigGAN; orthogonal initialisation. `leaky_slope=0.2` is LOGAN's leaky
ReLU (Wu et al. 2019, §5.2.1), 0 gives BigGAN-deep's ReLU.
"""
import keras
import tensorflow as tf

from tfgan_fast.nets import layers

# Channel multipliers m_0, ..., m_S of the S stages (BigGAN-deep's `arch` tables).
G_CHANNELS = {32: (4, 4, 4, 4), 64: (16, 16, 8, 4, 2), 128: (16, 16, 8, 4, 2, 1),
              256: (16, 16, 8, 8, 4, 2, 1), 512: (16, 16, 8, 8, 4, 2, 1, 1)}
D_CHANNELS = {32: (1, 2, 4, 4), 64: (1, 2, 4, 8, 16), 128: (1, 2, 4, 8, 16, 16),
              256: (1, 2, 4, 8, 8, 16, 16), 512: (1, 1, 2, 4, 8, 8, 16, 16)}


def _init():
    return keras.initializers.Orthogonal()  # a fresh (differently seeded) instance per layer


def _conv(filters, kernel_size, spectral_norm, name, cls=keras.layers.Conv2D):
    return layers.spectral_norm_if(cls(filters, kernel_size, padding="same", kernel_initializer=_init(), name=name),
               spectral_norm)


def _dense(units, spectral_norm, name, use_bias=True, dtype=None):
    return layers.spectral_norm_if(keras.layers.Dense(units, use_bias=use_bias, kernel_initializer=_init(),
                                  name=name, dtype=dtype), spectral_norm)


def _multipliers(cls_name, resolution, table, channel_multipliers):
    if channel_multipliers is not None:
        mults = tuple(int(m) for m in channel_multipliers)
        if 4 * 2 ** (len(mults) - 1) != resolution:
            raise ValueError(f"{cls_name}: {len(mults)} channel multipliers make "
                             f"{4 * 2 ** (len(mults) - 1)} px, not resolution={resolution}.")
        return mults
    if resolution not in table:
        raise ValueError(f"{cls_name}: resolution={resolution!r} must be one of "
                         f"{sorted(table)} (or pass channel_multipliers).")
    return table[resolution]


def _set_named(model, prefix, items):
    names = []
    for i, item in enumerate(items):
        name = f"{prefix}{i + 1}"
        setattr(model, name, item)
        names.append(name)
    return tuple(names)


@keras.saving.register_keras_serializable(package="tfgan_fast")
class BigGANConditionalBatchNorm(keras.layers.Layer):
    """`BN(x) * (1 + W_g c) + W_b c`: BigGAN's batch norm conditioned on a vector `c`.

    Args:
        spectral_norm: spectral norm on `W_g`, `W_b`.
        momentum, epsilon: of the batch statistics (`layers.FusedBatchNorm`).
        sync_bn: batch moments over all replicas.
        **kwargs: forwarded to `keras.layers.Layer`.

    Call args:
        inputs `[B, H, W, C]`; cond `[B, K]`; training.
    """

    def __init__(self, spectral_norm=True, momentum=0.9, epsilon=1e-4, sync_bn=True, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm, self.momentum = spectral_norm, momentum
        self.epsilon, self.sync_bn = epsilon, sync_bn

    def build(self, inputs_shape, cond_shape=None):
        channels = inputs_shape[-1]
        self.bn = layers.FusedBatchNorm(momentum=self.momentum, epsilon=self.epsilon, center=False,
                                       scale=False, synchronized=self.sync_bn, name="bn")
        self.gain = _dense(channels, self.spectral_norm, "gain", use_bias=False)
        self.bias = _dense(channels, self.spectral_norm, "bias", use_bias=False)
        self.bn.build(inputs_shape)
        if cond_shape is not None:
            self.gain.build(cond_shape)
            self.bias.build(cond_shape)

    def call(self, inputs, cond, training=None):
        h = self.bn(inputs, training=training)
        gain = 1.0 + self.gain(cond, training=training)
        bias = self.bias(cond, training=training)
        return h * tf.cast(gain[:, None, None, :], h.dtype) + tf.cast(bias[:, None, None, :],
                                                                      h.dtype)

    def compute_output_shape(self, inputs_shape, cond_shape=None):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(spectral_norm=self.spectral_norm, momentum=self.momentum,
                      epsilon=self.epsilon, sync_bn=self.sync_bn)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class BigGANSelfAttention(keras.layers.Layer):
    """BigGAN / SAGAN non-local block: `x + gamma * o(softmax(theta phi^T) g)`, gamma from 0.

    theta, phi: Conv1x1 to C/8; g: Conv1x1 to C/2; phi and g max-pooled 2x2; o: Conv1x1 to C.

    Args:
        spectral_norm: on the four convolutions.
        **kwargs: forwarded to `keras.layers.Layer`.
    """

    def __init__(self, spectral_norm=True, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm = spectral_norm

    def build(self, inputs_shape):
        c = inputs_shape[-1]
        if c < 8:
            raise ValueError(f"{self.name}: self-attention needs >= 8 channels, got {c}.")
        sn = self.spectral_norm
        self.theta = _conv(c // 8, 1, sn, "theta")
        self.phi = _conv(c // 8, 1, sn, "phi")
        self.g = _conv(c // 2, 1, sn, "g")
        self.o = _conv(c, 1, sn, "o")
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")

    def call(self, inputs, training=None):
        shape = tf.shape(inputs)
        b, h, w = shape[0], shape[1], shape[2]
        c = inputs.shape[-1]
        theta = tf.reshape(self.theta(inputs, training=training), [b, h * w, c // 8])
        pooled = tf.nn.max_pool2d(inputs, 2, 2, "VALID")
        phi = tf.reshape(self.phi(pooled, training=training), [b, -1, c // 8])
        g = tf.reshape(self.g(pooled, training=training), [b, -1, c // 2])
        attn = tf.nn.softmax(tf.matmul(theta, phi, transpose_b=True), axis=-1)
        o = self.o(tf.reshape(tf.matmul(attn, g), [b, h, w, c // 2]), training=training)
        return inputs + tf.cast(self.gamma, o.dtype) * o

    def get_config(self):
        config = super().get_config()
        config.update(spectral_norm=self.spectral_norm)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class BigGANDeepGBlock(keras.layers.Layer):
    """BigGAN-deep generator bottleneck block (see the module docstring).

    Args:
        filters: output channels C_out (<= C_in).
        upsample: nearest 2x upsampling inside the block and on the skip path.
        channel_ratio: bottleneck reduction (4).
        leaky_slope: 0 for ReLU, 0.2 for LOGAN's leaky ReLU.
        spectral_norm, sync_bn, epsilon: as in `BigGANConditionalBatchNorm`.
        **kwargs: forwarded to `keras.layers.Layer`.

    Call args:
        inputs `[B, H, W, C_in]`; cond `[B, K]`; training.
    """

    def __init__(self, filters, upsample=False, channel_ratio=4, leaky_slope=0.0,
                 spectral_norm=True, sync_bn=True, epsilon=1e-4, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.upsample, self.channel_ratio = filters, upsample, channel_ratio
        self.leaky_slope, self.spectral_norm = leaky_slope, spectral_norm
        self.sync_bn, self.epsilon = sync_bn, epsilon

    def build(self, inputs_shape, cond_shape=None):
        c_in = inputs_shape[-1]
        if self.filters > c_in:
            raise ValueError(f"{self.name}: BigGAN-deep G blocks keep or drop channels, got "
                             f"{c_in} -> {self.filters}.")
        hidden = max(c_in // self.channel_ratio, 1)
        sn = self.spectral_norm
        for i in range(4):
            setattr(self, f"bn{i + 1}", BigGANConditionalBatchNorm(
                sn, epsilon=self.epsilon, sync_bn=self.sync_bn, name=f"bn{i + 1}"))
        self.conv1 = _conv(hidden, 1, sn, "conv1")
        self.conv2 = _conv(hidden, 3, sn, "conv2",
                           cls=layers.UpsampleConv2D if self.upsample else keras.layers.Conv2D)
        self.conv3 = _conv(hidden, 3, sn, "conv3")
        self.conv4 = _conv(self.filters, 1, sn, "conv4")
        if self.upsample:  # an unused layer would stay unbuilt, which Keras' fit rejects
            self.up = keras.layers.UpSampling2D(2, interpolation="nearest", name="up")

    def _act(self, h):
        return layers.masked_activation(h, self.leaky_slope) if self.leaky_slope else tf.nn.relu(h)

    def call(self, inputs, cond, training=None):
        t = training
        h = self.conv1(self._act(self.bn1(inputs, cond, training=t)), training=t)
        h = self._act(self.bn2(h, cond, training=t))
        h = self.conv2(h, training=t)  # upsamples too (UpsampleConv2D)
        h = self.conv3(self._act(self.bn3(h, cond, training=t)), training=t)
        h = self.conv4(self._act(self.bn4(h, cond, training=t)), training=t)
        x = inputs[..., :self.filters]
        if self.upsample:
            x = self.up(x)
        return h + x

    def compute_output_shape(self, inputs_shape, cond_shape=None):
        b, h, w, _ = inputs_shape
        if self.upsample:
            h, w = (None if h is None else 2 * h), (None if w is None else 2 * w)
        return (b, h, w, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, upsample=self.upsample,
                      channel_ratio=self.channel_ratio, leaky_slope=self.leaky_slope,
                      spectral_norm=self.spectral_norm, sync_bn=self.sync_bn,
                      epsilon=self.epsilon)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class BigGANDeepDBlock(keras.layers.Layer):
    """BigGAN-deep discriminator bottleneck block (see the module docstring).

    Args:
        filters: output channels C_out (>= C_in).
        downsample: 2x2 average pooling inside the block and on the skip path.
        channel_ratio: bottleneck reduction (4).
        leaky_slope: 0 for ReLU, 0.2 for LOGAN.
        spectral_norm: on every convolution.
        **kwargs: forwarded to `keras.layers.Layer`.
    """

    def __init__(self, filters, downsample=False, channel_ratio=4, leaky_slope=0.0,
                 spectral_norm=True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.downsample, self.channel_ratio = filters, downsample, channel_ratio
        self.leaky_slope, self.spectral_norm = leaky_slope, spectral_norm

    def build(self, inputs_shape):
        c_in = inputs_shape[-1]
        if self.filters < c_in:
            raise ValueError(f"{self.name}: BigGAN-deep D blocks keep or add channels, got "
                             f"{c_in} -> {self.filters}.")
        hidden = max(self.filters // self.channel_ratio, 1)
        sn = self.spectral_norm
        self.conv1 = _conv(hidden, 1, sn, "conv1")
        self.conv2 = _conv(hidden, 3, sn, "conv2")
        self.conv3 = _conv(hidden, 3, sn, "conv3")
        self.conv4 = _conv(self.filters, 1, sn, "conv4")
        self.has_sc_conv = self.filters > c_in
        if self.has_sc_conv:
            self.conv_sc = _conv(self.filters - c_in, 1, sn, "conv_sc")
        if self.downsample:
            self.pool = keras.layers.AveragePooling2D(2, name="pool")

    def _act(self, h):
        return layers.masked_activation(h, self.leaky_slope) if self.leaky_slope else tf.nn.relu(h)

    def call(self, inputs, training=None):
        t = training
        h = self.conv1(layers.masked_activation(inputs, self.leaky_slope), training=t)
        h = self.conv2(self._act(h), training=t)
        h = self._act(self.conv3(self._act(h), training=t))
        if self.downsample:
            h = self.pool(h)
        h = self.conv4(h, training=t)
        x = self.pool(inputs) if self.downsample else inputs
        if self.has_sc_conv:
            x = tf.concat([x, self.conv_sc(x, training=t)], axis=-1)
        return h + x

    def compute_output_shape(self, inputs_shape):
        b, h, w, _ = inputs_shape
        if self.downsample:
            h, w = (None if h is None else h // 2), (None if w is None else w // 2)
        return (b, h, w, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, downsample=self.downsample,
                      channel_ratio=self.channel_ratio, leaky_slope=self.leaky_slope,
                      spectral_norm=self.spectral_norm)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class BigGANDeepGenerator(keras.Model):
    """BigGAN-deep generator with LOGAN's options (see the module docstring).

    Args:
        resolution: output size (32, 64, 128, 256, 512, or any with `channel_multipliers`).
        channels: output channels.
        width: `ch` of BigGAN (128 for BigGAN-deep); stage s has `m_s * width` channels.
        z_dim: latent size (256 in LOGAN, 128 in BigGAN-deep).
        num_classes: C; 0 for unconditional (cond = z).
        embedding_dim: size of the shared class embedding (128).
        blocks_per_stage: residual blocks per resolution (2 in BigGAN-deep).
        hierarchical_z: split z into `stages + 1` chunks (BigGAN) instead of feeding the whole z
            to every block (BigGAN-deep's skip-z).
        leaky_slope: 0 (ReLU) or 0.2 (LOGAN).
        spectral_norm: on every convolution and dense layer (not the shared embedding).
        attention_resolution: self-attention after the stage of that size (64); None for none.
        channel_multipliers: overrides the `G_CHANNELS` table.
        sync_bn: batch moments over all replicas.
        **kwargs: forwarded to `keras.Model`.

    Call args:
        z `[B, z_dim]`; labels int32 `[B]` (required when `num_classes > 0`); training.

    Returns:
        float32 `[B, resolution, resolution, channels]` in [-1, 1].
    """

    def __init__(self, resolution=128, channels=3, width=128, z_dim=256, num_classes=1000,
                 embedding_dim=128, blocks_per_stage=2, hierarchical_z=False, leaky_slope=0.0,
                 spectral_norm=True, attention_resolution=64, channel_multipliers=None,
                 sync_bn=True, **kwargs):
        super().__init__(**kwargs)
        mults = _multipliers("BigGANDeepGenerator", resolution, G_CHANNELS, channel_multipliers)
        stages = len(mults) - 1
        if blocks_per_stage < 1:
            raise ValueError(f"BigGANDeepGenerator: blocks_per_stage={blocks_per_stage} < 1.")
        if hierarchical_z and z_dim % (stages + 1):
            raise ValueError(f"BigGANDeepGenerator: hierarchical_z splits z_dim={z_dim} into "
                             f"{stages + 1} equal chunks; it does not divide.")
        self.resolution, self.channels, self.width = resolution, channels, width
        self.z_dim, self.num_classes, self.embedding_dim = z_dim, num_classes, embedding_dim
        self.blocks_per_stage, self.hierarchical_z = blocks_per_stage, hierarchical_z
        self.leaky_slope, self.spectral_norm = leaky_slope, spectral_norm
        self.attention_resolution, self.sync_bn = attention_resolution, sync_bn
        self.channel_multipliers = channel_multipliers
        self._mults, self._stages = mults, stages

        if num_classes:
            self.embedding = keras.layers.Embedding(num_classes, embedding_dim, name="shared")
        self.dense = _dense(16 * mults[0] * width, spectral_norm, "dense")
        blocks, stage_of_block = [], []
        for s in range(stages):
            for j in range(blocks_per_stage):
                last = j == blocks_per_stage - 1
                blocks.append(BigGANDeepGBlock(
                    mults[s + 1] * width if last else mults[s] * width, upsample=last,
                    leaky_slope=leaky_slope, spectral_norm=spectral_norm, sync_bn=sync_bn,
                    name=f"block{len(blocks) + 1}"))
                stage_of_block.append(s)
        self._block_names = _set_named(self, "block", blocks)
        self._stage_of_block = tuple(stage_of_block)
        # Attention after the stage whose output has attention_resolution pixels.
        self._attention_after = None
        for s in range(stages):
            if attention_resolution and 4 * 2 ** (s + 1) == attention_resolution:
                self._attention_after = s
                self.attention = BigGANSelfAttention(spectral_norm, name="attention")
        self.bn_out = layers.FusedBatchNorm(momentum=0.9, epsilon=1e-4, synchronized=sync_bn,
                                           name="bn_out")
        self.conv_out = _conv(channels, 3, spectral_norm, "conv_out")
        self.tanh = keras.layers.Activation("tanh", dtype="float32", name="tanh")

    def _act(self, h):
        return layers.masked_activation(h, self.leaky_slope) if self.leaky_slope else tf.nn.relu(h)

    def call(self, z, labels=None, training=None):
        if self.num_classes:
            if labels is None:
                raise ValueError("BigGANDeepGenerator: labels are required when "
                                 "num_classes > 0.")
            y = tf.cast(self.embedding(tf.cast(labels, tf.int32)), z.dtype)
        if self.hierarchical_z:
            chunks = tf.split(z, self._stages + 1, axis=-1)
        else:
            chunks = [z] * (self._stages + 1)
        conds = [tf.concat([c, y], -1) if self.num_classes else c for c in chunks]
        t = training
        h = self.dense(conds[0], training=t)
        h = tf.reshape(h, [-1, 4, 4, self._mults[0] * self.width])
        for i, name in enumerate(self._block_names):
            s = self._stage_of_block[i]
            h = getattr(self, name)(h, conds[s + 1], training=t)
            last_of_stage = i + 1 == len(self._block_names) or self._stage_of_block[i + 1] != s
            if last_of_stage and s == self._attention_after:
                h = self.attention(h, training=t)
        h = self._act(self.bn_out(h, training=t))
        return self.tanh(self.conv_out(h, training=t))

    def get_config(self):
        config = super().get_config()
        config.update(resolution=self.resolution, channels=self.channels, width=self.width,
                      z_dim=self.z_dim, num_classes=self.num_classes,
                      embedding_dim=self.embedding_dim, blocks_per_stage=self.blocks_per_stage,
                      hierarchical_z=self.hierarchical_z, leaky_slope=self.leaky_slope,
                      spectral_norm=self.spectral_norm,
                      attention_resolution=self.attention_resolution,
                      channel_multipliers=self.channel_multipliers, sync_bn=self.sync_bn)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class BigGANDeepDiscriminator(keras.Model):
    """BigGAN-deep discriminator with a projection head (see the module docstring).

    Args:
        resolution: input size (32, 64, 128, 256, 512, or any with `channel_multipliers`).
        channels: input channels.
        width: `ch` (128).
        num_classes: C; 0 gives an unconditional Dense(1) head.
        blocks_per_stage: 2 in BigGAN-deep; the first block of a stage downsamples.
        leaky_slope: 0 (ReLU) or 0.2 (LOGAN).
        spectral_norm: on every layer, the projection embedding included.
        attention_resolution: self-attention after the stage producing that size (64).
        channel_multipliers: overrides the `D_CHANNELS` table.
        **kwargs: forwarded to `keras.Model`.

    Call args:
        images `[B, H, W, C]`; labels int32 `[B]` (required when `num_classes > 0`); training.

    Returns:
        `{"logits": float32 [B]}`.
    """

    def __init__(self, resolution=128, channels=3, width=128, num_classes=1000,
                 blocks_per_stage=2, leaky_slope=0.0, spectral_norm=True,
                 attention_resolution=64, channel_multipliers=None, **kwargs):
        super().__init__(**kwargs)
        mults = _multipliers("BigGANDeepDiscriminator", resolution, D_CHANNELS,
                             channel_multipliers)
        stages = len(mults) - 1
        if blocks_per_stage < 1:
            raise ValueError(f"BigGANDeepDiscriminator: blocks_per_stage={blocks_per_stage}.")
        self.resolution, self.channels, self.width = resolution, channels, width
        self.num_classes, self.blocks_per_stage = num_classes, blocks_per_stage
        self.leaky_slope, self.spectral_norm = leaky_slope, spectral_norm
        self.attention_resolution = attention_resolution
        self.channel_multipliers = channel_multipliers

        self.conv_in = _conv(mults[0] * width, 3, spectral_norm, "conv_in")
        blocks, stage_of_block = [], []
        for s in range(stages):
            for j in range(blocks_per_stage):
                blocks.append(BigGANDeepDBlock(
                    mults[s + 1] * width, downsample=j == 0, leaky_slope=leaky_slope,
                    spectral_norm=spectral_norm, name=f"block{len(blocks) + 1}"))
                stage_of_block.append(s)
        self._block_names = _set_named(self, "block", blocks)
        self._stage_of_block = tuple(stage_of_block)
        self._attention_after = None
        for s in range(stages):
            if attention_resolution and resolution // 2 ** (s + 1) == attention_resolution:
                self._attention_after = s
                self.attention = BigGANSelfAttention(spectral_norm, name="attention")
        if num_classes:
            self.head = layers.ProjectionHead(num_classes, spectral_norm=spectral_norm,
                                              dtype="float32", name="projection_head")
        else:
            self.head = _dense(1, spectral_norm, "adv", dtype="float32")

    def _act(self, h):
        return layers.masked_activation(h, self.leaky_slope) if self.leaky_slope else tf.nn.relu(h)

    def features(self, images, training=None):
        """phi: float32 `[B, m_S * width]` (activation, then a global sum over space)."""
        h = self.conv_in(images, training=training)
        for i, name in enumerate(self._block_names):
            s = self._stage_of_block[i]
            h = getattr(self, name)(h, training=training)
            last_of_stage = i + 1 == len(self._block_names) or self._stage_of_block[i + 1] != s
            if last_of_stage and s == self._attention_after:
                h = self.attention(h, training=training)
        return tf.reduce_sum(self._act(tf.cast(h, tf.float32)), axis=[1, 2])

    def call(self, images, labels=None, training=None):
        phi = self.features(images, training=training)
        if self.num_classes:
            if labels is None:
                raise ValueError("BigGANDeepDiscriminator: labels are required when "
                                 "num_classes > 0.")
            return self.head(phi, labels, training=training)
        return {"logits": tf.squeeze(self.head(phi, training=training), axis=-1)}

    def get_config(self):
        config = super().get_config()
        config.update(resolution=self.resolution, channels=self.channels, width=self.width,
                      num_classes=self.num_classes, blocks_per_stage=self.blocks_per_stage,
                      leaky_slope=self.leaky_slope, spectral_norm=self.spectral_norm,
                      attention_resolution=self.attention_resolution,
                      channel_multipliers=self.channel_multipliers)
        return config
