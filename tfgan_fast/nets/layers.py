"""Building blocks of the SNGAN / WGAN-GP ResNets: batch norms, residual blocks, heads.

All layers are channels-last (`[B, H, W, C]`), forward `**kwargs` to `keras.layers.Layer` and
return every constructor argument from `get_config`, so `cls.from_config(layer.get_config())`
rebuilds an identical layer. They work under `tf.function`, `tf.distribute.MirroredStrategy` and
the `mixed_bfloat16` policy (batch statistics are always computed in float32).

Two initialisation schemes (`init`), each the one of an authors' code base; conditional-BN gains /
offsets start at 1 / 0 in both:
- "chainer" (SNGAN's chainer code, `sngan_projection`): Xavier-uniform with gain sqrt(2) in the
  residual 3x3 convolutions, gain 1 in shortcuts and linear layers, zero biases.
- "pytorch" (the FastGAN and RobGAN authors' PyTorch code): Xavier-uniform with gain 1 in every
  convolution and linear layer (`nn.init.xavier_uniform_`), and PyTorch's default biases,
  `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`.
"""
import math

import keras
import tensorflow as tf

_SHORTCUT_MODES = ("always", "auto")
INITS = ("chainer", "pytorch")


def _residual_init():
    # Xavier-uniform with gain sqrt(2): variance scale = gain^2. A fresh instance per layer:
    # an unseeded Keras initialiser draws its seed once, so a shared one repeats its values.
    return keras.initializers.VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform")


def _linear_init():
    return keras.initializers.GlorotUniform()


def check_init(owner, init):
    """Returns `init` if it names a scheme of `INITS`; raises a one-line ValueError otherwise."""
    if init not in INITS:
        raise ValueError(f"{owner}: init must be one of {INITS}, got {init!r}.")
    return init


def initializers(init, fan_in, residual=False):
    """`kernel_initializer` / `bias_initializer` arguments of a convolution or dense layer.

    Args:
        init: "chainer" or "pytorch" (see the module docstring).
        fan_in: inputs per output unit (`C_in * k * k` for a k x k convolution), which sets
            PyTorch's default bias bound `1 / sqrt(fan_in)`.
        residual: a 3x3 convolution of a residual path (gain sqrt(2) under "chainer").

    Returns:
        A dict of fresh initialiser instances (an unseeded Keras initialiser draws its seed once,
        so instances must not be shared between layers).
    """
    check_init("initializers", init)
    if init == "chainer":
        return {"kernel_initializer": _residual_init() if residual else _linear_init(),
                "bias_initializer": "zeros"}
    return {"kernel_initializer": _linear_init(), "bias_initializer": fan_in_uniform(fan_in)}


def fan_in_uniform(fan_in):
    """PyTorch's default bias (and `nn.Linear` weight) initialiser, U(+-1/sqrt(fan_in)); a fresh
    instance per call."""
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


# --- helpers shared by every network -------------------------------------------------------------

def check_int(name, value, minimum=1):
    """Raises a ValueError naming `name` unless `value` is an int >= `minimum`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_unconditional(cls, num_classes):
    """FARGAN's networks are label-free (Tao & Wang 2020): `num_classes` must be 0."""
    if num_classes:
        raise ValueError(f"{cls} is unconditional; got num_classes={num_classes} (bind "
                         "run.unconditional = True for a labelled data set)")


def num_doublings(who, resolution, base=4, minimum=1):
    """k with `resolution = base * 2^k`, k >= `minimum`; a ValueError naming `who` otherwise."""
    ok = isinstance(resolution, int) and resolution >= base * 2 ** minimum
    k = (resolution // base).bit_length() - 1 if ok else 0
    if not ok or base * 2 ** k != resolution:
        examples = ", ".join(str(base * 2 ** i) for i in range(minimum, minimum + 4))
        form = "a power of two" if base == 1 else f"{base} * 2^n"
        raise ValueError(f"{who}.resolution must be {form} ({examples}, ...), got "
                         f"{resolution!r}")
    return k


def leaky_relu(x):
    """LeakyReLU with slope 0.2 (DCGAN's, and the FARGAN and BigGAN-deep networks'), as
    `masked_activation` (see there why)."""
    return masked_activation(x, 0.2)


def masked_activation(x, leaky_slope=0.0):
    """ReLU (or leaky ReLU) as `x * mask`: the same values and the same gradient as
    `tf.nn.relu` / `tf.nn.leaky_relu`, but not an activation op that TensorFlow's oneDNN
    remapper (CPU, TF 2.21) fuses into the convolution before it.

    That remapper fuses `Conv2D -> BiasAdd [-> Add] -> Relu/LeakyRelu` without checking that the
    tensors it removes have no other consumer, then fails to apply the change ("remapper failed:
    INVALID_ARGUMENT: Mutation::Apply error: fanout '...' exist for missing node '...'") and
    drops every fusion of the graph. Two places of ours had such a consumer:
    - a residual D block's input: the previous block's `conv + bias + shortcut` feeds this
      activation and the next shortcut;
    - leaky ReLU after a convolution in a training step: its gradient (LeakyReluGrad) reads the
      BiasAdd's output.
    The results were right and the speed the same either way (`scripts/remapper_repro.py
    --measure`); this removes the error that verbose logs, and programs that import our
    networks, showed for every traced training step.

    `x * where(x > 0, 1, slope)` is what TF's kernels compute (`x` where `x > 0`, `slope * x`
    elsewhere) with the gradient of ReluGrad / LeakyReluGrad, `where(x > 0, 1, slope)`.
    """
    if leaky_slope:
        mask = tf.where(x > 0, tf.ones([], x.dtype), tf.cast(leaky_slope, x.dtype))
    else:
        mask = tf.cast(x > 0, x.dtype)
    return x * mask


def set_layers(model, layer_list, attribute="_layer_names"):
    """Stores `layer_list` as named attributes of `model` and their names in `attribute`
    (Keras 3 does not track plain lists of layers for checkpoints)."""
    setattr(model, attribute, tuple(layer.name for layer in layer_list))
    for layer in layer_list:
        setattr(model, layer.name, layer)


def get_layers(model, attribute="_layer_names"):
    """The layers `set_layers` stored, in order."""
    return [getattr(model, name) for name in getattr(model, attribute)]


def spectral_norm_if(layer, spectral_norm):
    """Wraps `layer` in Keras' `SpectralNormalization` (1 power iteration) when asked."""
    if spectral_norm:
        # The wrapper casts its output to its own input dtype: give it the wrapped layer's
        # policy, or a float32 head would return bfloat16 under a mixed-precision policy.
        return keras.layers.SpectralNormalization(layer, name=layer.name + "_sn",
                                                  dtype=layer.dtype_policy)
    return layer


def _check_shortcut_mode(learnable_shortcut):
    if learnable_shortcut not in _SHORTCUT_MODES:
        raise ValueError(f"learnable_shortcut must be one of {_SHORTCUT_MODES}, got "
                         f"{learnable_shortcut!r}.")


def _num_replicas_in_sync():
    """Number of replicas sharing the current step (1 outside a replica context)."""
    ctx = tf.distribute.get_replica_context()
    # In a cross-replica context (e.g. building a model directly under `strategy.scope()`), there
    # is no batch to share statistics with.
    return 1 if ctx is None else ctx.num_replicas_in_sync


@keras.saving.register_keras_serializable(package="tfgan_fast")
class FusedBatchNorm(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` with a fused single-replica training path.

    With `synchronized=True` the batch moments of a training call are all-reduced over the
    replicas (Keras' own implementation), so that an N-replica step normalises with the statistics
    of the global batch, exactly like a one-device step on that batch. When only one replica is
    in sync (the default strategy, or a one-device strategy) there is nothing to reduce and the
    layer uses the fused `FusedBatchNormV3` kernel instead, which is much faster on CPU than
    Keras' composite moments + `batch_normalization` ops (forward and, above all, backward).

    Both paths normalise with the biased batch variance and feed the biased variance into the
    moving average, so switching between them changes only rounding. Variables, config and
    inference behaviour are those of the parent class.
    """

    def _use_fused_training_path(self, inputs, mask):
        if mask is not None or self.renorm or len(inputs.shape) != 4:
            return False
        if self.axis not in (-1, 3):
            return False
        return not (self.synchronized and _num_replicas_in_sync() > 1)

    def call(self, inputs, training=None, mask=None):
        if training and self.trainable and self._use_fused_training_path(inputs, mask):
            return self._fused_training_call(inputs)
        return super().call(inputs, training=training, mask=mask)

    def _fused_training_call(self, inputs):
        # Statistics in float32 even under mixed precision, as the parent class does.
        x = tf.cast(inputs, tf.float32)
        channels = x.shape[-1]
        scale = tf.convert_to_tensor(self.gamma) if self.scale else tf.ones([channels])
        offset = tf.convert_to_tensor(self.beta) if self.center else tf.zeros([channels])
        y, mean, unbiased_var = tf.compat.v1.nn.fused_batch_norm(
            x, scale, offset, epsilon=self.epsilon, data_format="NHWC", is_training=True)
        # The fused kernel reports the Bessel-corrected variance; the parent class (and the
        # synchronized path) average the biased one, so convert for identical moving statistics.
        count = tf.cast(tf.size(x) // channels, tf.float32)
        variance = unbiased_var * (count - 1.0) / tf.maximum(count, 1.0)
        mean = tf.stop_gradient(mean)
        variance = tf.stop_gradient(variance)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return tf.cast(y, self.compute_dtype)


def _three_to_four_taps(kernel, axis, pattern):
    """Combines the 3 taps of a kernel axis into the 4 taps of a stride-2 equivalent."""
    w0, w1, w2 = tf.split(kernel, 3, axis=axis)
    if pattern == "pool":
        return tf.concat([w0, w0 + w1, w1 + w2, w2], axis)
    return tf.concat([w2, w1 + w2, w0 + w1, w0], axis)


class _FixedConv3x3(keras.layers.Conv2D):
    """A 3x3 / stride 1 / 'same' / channels-last `Conv2D` whose `call` is re-expressed."""

    def __init__(self, filters, kernel_size=3, padding="same", **kwargs):
        super().__init__(filters, kernel_size, padding=padding, **kwargs)
        if (self.kernel_size != (3, 3) or self.padding != "same" or self.strides != (1, 1)
                or self.dilation_rate != (1, 1) or self.groups != 1
                or self.data_format != "channels_last"):
            raise ValueError(f"{type(self).__name__} supports only a 3x3, stride 1, 'same', "
                             "ungrouped, undilated, channels-last convolution.")

    def _finish(self, outputs):
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


@keras.saving.register_keras_serializable(package="tfgan_fast")
class UpsampleConv2D(_FixedConv3x3):
    """Nearest 2x upsampling followed by a 3x3 'same' convolution, in one transposed conv.

    `UpsampleConv2D(f)(x) == Conv2D(f, 3, padding="same")(UpSampling2D(2)(x))` with the same
    `[3, 3, C_in, f]` kernel and bias (so checkpoints, parameter counts and spectral norm are those
    of the plain convolution), but each output pixel sees only 2x2 distinct inputs, so the 3x3 taps
    are summed into a 4x4 stride-2 transposed-convolution kernel: 16 instead of 36 multiply-adds
    per input pixel and channel pair (measured 2.3x faster forward + backward on CPU).

    Call args:
        inputs: `[B, H, W, C_in]`.

    Returns:
        `[B, 2H, 2W, filters]`.
    """

    def call(self, inputs):
        # Output pixel 2i + a reads input rows {i - 1, i} (a = 0) or {i, i + 1} (a = 1), which
        # makes the 4 taps [w2, w1 + w2, w0 + w1, w0] of a transposed conv with 'SAME' padding.
        kernel = _three_to_four_taps(_three_to_four_taps(self.kernel, 0, "up"), 1, "up")
        kernel = tf.transpose(kernel, [0, 1, 3, 2])  # transposed conv wants [h, w, out, in]
        shape = tf.shape(inputs)
        output_shape = tf.stack([shape[0], 2 * shape[1], 2 * shape[2], self.filters])
        outputs = tf.nn.conv2d_transpose(inputs, kernel, output_shape, strides=2,
                                         padding="SAME")
        outputs = tf.ensure_shape(outputs, self.compute_output_shape(inputs.shape))
        return self._finish(outputs)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return (b, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)


@keras.saving.register_keras_serializable(package="tfgan_fast")
class ConvAvgPool2D(_FixedConv3x3):
    """A 3x3 'same' convolution followed by 2x2 average pooling, in one stride-2 convolution.

    `ConvAvgPool2D(f)(x) == AveragePooling2D(2)(Conv2D(f, 3, padding="same")(x))` for even `H`,
    `W`, with the same `[3, 3, C_in, f]` kernel and bias, computed as a 4x4 stride-2 convolution
    whose taps are the averaged 3x3 taps: 16 instead of 36 multiply-adds per output pixel and
    channel pair, and no full-resolution intermediate.

    Call args:
        inputs: `[B, H, W, C_in]`, `H` and `W` even.

    Returns:
        `[B, H/2, W/2, filters]`.
    """

    def call(self, inputs):
        # Output i averages conv rows 2i and 2i + 1, i.e. input rows 2i - 1 .. 2i + 2 with taps
        # [w0, w0 + w1, w1 + w2, w2] / 2 per axis; 'SAME' pads one row on each side.
        kernel = _three_to_four_taps(_three_to_four_taps(self.kernel, 0, "pool"), 1, "pool")
        outputs = tf.nn.conv2d(inputs, 0.25 * kernel, strides=2, padding="SAME")
        return self._finish(outputs)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return (b, None if h is None else h // 2, None if w is None else w // 2, self.filters)


def _batch_norm(synchronized, momentum, epsilon, center=True, scale=True, name=None):
    return FusedBatchNorm(momentum=momentum, epsilon=epsilon, center=center, scale=scale,
                         synchronized=synchronized, name=name)


@keras.saving.register_keras_serializable(package="tfgan_fast")
class ConditionalBatchNorm(keras.layers.Layer):
    """Categorical conditional batch norm (de Vries et al. 2017; SNGAN's generator).

    `y = gamma[labels] * (x - mean) / sqrt(var + epsilon) + beta[labels]`, where the batch
    statistics come from a `FusedBatchNorm(center=False, scale=False)` (global-batch moments under
    a multi-replica strategy) and `gamma`, `beta` are two `Embedding(num_classes, C)` tables
    initialised to 1 and 0.

    Args:
        num_classes: number of classes `K` (rows of the gamma / beta tables).
        momentum: moving-average momentum of the batch statistics (chainer's `decay`).
        epsilon: variance epsilon (SNGAN / RobGAN use 2e-5).
        synchronized: compute batch moments over all replicas in sync.
        **kwargs: forwarded to `keras.layers.Layer`.

    Call args:
        inputs: float `[B, ..., C]`.
        labels: int `[B]` class ids in `[0, K)`.
        training: batch statistics (True) or moving statistics (False / None).

    Returns:
        `[B, ..., C]` in the layer's compute dtype.
    """

    def __init__(self, num_classes, momentum=0.9, epsilon=2e-5, synchronized=True, **kwargs):
        super().__init__(**kwargs)
        if num_classes < 1:
            raise ValueError(f"ConditionalBatchNorm needs num_classes >= 1, got {num_classes}.")
        self.num_classes = num_classes
        self.momentum = momentum
        self.epsilon = epsilon
        self.synchronized = synchronized

    def build(self, inputs_shape):
        channels = inputs_shape[-1]
        self.bn = _batch_norm(self.synchronized, self.momentum, self.epsilon, center=False,
                              scale=False, name="bn")
        self.gamma = keras.layers.Embedding(self.num_classes, channels,
                                            embeddings_initializer="ones", name="gamma")
        self.beta = keras.layers.Embedding(self.num_classes, channels,
                                           embeddings_initializer="zeros", name="beta")
        self.bn.build(inputs_shape)
        self.gamma.build((None,))
        self.beta.build((None,))

    def call(self, inputs, labels, training=None):
        h = self.bn(inputs, training=training)
        # [B, C] -> [B, 1, ..., 1, C] to broadcast over the spatial axes.
        new_shape = [-1] + [1] * (len(inputs.shape) - 2) + [inputs.shape[-1]]
        gamma = tf.reshape(self.gamma(labels), new_shape)
        beta = tf.reshape(self.beta(labels), new_shape)
        return h * tf.cast(gamma, h.dtype) + tf.cast(beta, h.dtype)

    def compute_output_shape(self, inputs_shape, labels_shape=None):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, momentum=self.momentum,
                      epsilon=self.epsilon, synchronized=self.synchronized)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class ResBlockUp(keras.layers.Layer):
    """Generator residual block of the SNGAN / WGAN-GP CIFAR ResNet.

    Main path: BN -> ReLU -> [Up x2 nearest -> Conv3x3] -> BN -> ReLU -> Conv3x3, the bracket
    computed by one `UpsampleConv2D` when upsampling.
    Shortcut: [Up x2 nearest] -> Conv1x1, or the identity when `learnable_shortcut="auto"`,
    the channels do not change and there is no upsampling. BN is `ConditionalBatchNorm` when
    `num_classes > 0`, else a plain `FusedBatchNorm` with scale and offset. All convolutions have
    biases.

    Args:
        filters: output channels (also the hidden channels).
        num_classes: classes of the conditional BN; 0 for unconditional.
        upsample: double the spatial size.
        learnable_shortcut: "always" (a Conv1x1 in every block) or "auto" (only when the
            channels change or the block upsamples, as in SNGAN's code).
        sync_bn: compute batch moments over all replicas in sync.
        momentum: BN moving-average momentum.
        epsilon: BN variance epsilon.
        spectral_norm: wrap the three convolutions in `keras.layers.SpectralNormalization`
            (SAGAN's generator; the conditional-BN embeddings are not normalised).
        **kwargs: forwarded to `keras.layers.Layer`.

    Call args:
        inputs: float `[B, H, W, C_in]`.
        labels: int `[B]`; required when `num_classes > 0`, ignored otherwise.
        training: use batch statistics in BN (and advance the spectral-norm power iterations).

    Returns:
        `[B, 2H, 2W, filters]` (`[B, H, W, filters]` without upsampling).
    """

    def __init__(self, filters, num_classes=0, upsample=True, learnable_shortcut="always",
                 sync_bn=True, momentum=0.9, epsilon=2e-5, spectral_norm=False, init="chainer",
                 **kwargs):
        super().__init__(**kwargs)
        _check_shortcut_mode(learnable_shortcut)
        self.init = check_init(type(self).__name__, init)
        self.filters = filters
        self.num_classes = num_classes
        self.upsample = upsample
        self.learnable_shortcut = learnable_shortcut
        self.sync_bn = sync_bn
        self.momentum = momentum
        self.epsilon = epsilon
        self.spectral_norm = spectral_norm

    def _norm(self, name):
        if self.num_classes > 0:
            return ConditionalBatchNorm(self.num_classes, momentum=self.momentum,
                                        epsilon=self.epsilon, synchronized=self.sync_bn, name=name)
        return _batch_norm(self.sync_bn, self.momentum, self.epsilon, name=name)

    def build(self, inputs_shape):
        in_channels = inputs_shape[-1]
        self.has_shortcut_conv = (self.learnable_shortcut == "always" or self.upsample
                                  or in_channels != self.filters)
        self.bn1 = self._norm("bn1")
        self.bn2 = self._norm("bn2")
        conv1_cls = UpsampleConv2D if self.upsample else keras.layers.Conv2D
        self.conv1 = spectral_norm_if(
            conv1_cls(self.filters, 3, padding="same", name="conv1",
                      **initializers(self.init, 9 * in_channels, residual=True)),
            self.spectral_norm)
        self.conv2 = spectral_norm_if(
            keras.layers.Conv2D(self.filters, 3, padding="same", name="conv2",
                                **initializers(self.init, 9 * self.filters, residual=True)),
            self.spectral_norm)
        self.up = keras.layers.UpSampling2D(2, interpolation="nearest", name="up")
        if self.has_shortcut_conv:
            self.conv_sc = spectral_norm_if(
                keras.layers.Conv2D(self.filters, 1, name="conv_sc",
                                    **initializers(self.init, in_channels)), self.spectral_norm)

    def _bn(self, layer, h, labels, training):
        if self.num_classes > 0:
            return layer(h, labels, training=training)
        return layer(h, training=training)

    def call(self, inputs, labels=None, training=None):
        if self.num_classes > 0 and labels is None:
            raise ValueError(f"{self.name}: labels are required when num_classes > 0.")
        h = tf.nn.relu(self._bn(self.bn1, inputs, labels, training))
        h = self.conv1(h, training=training)  # upsamples too when self.upsample
        h = tf.nn.relu(self._bn(self.bn2, h, labels, training))
        h = self.conv2(h, training=training)
        sc = inputs
        if self.has_shortcut_conv:
            # A 1x1 convolution commutes with nearest upsampling, so convolve the small map:
            # same function as Up -> Conv1x1, a quarter of the cost.
            sc = self.conv_sc(sc, training=training)
        if self.upsample:
            sc = self.up(sc)
        return h + sc

    def compute_output_shape(self, inputs_shape, labels_shape=None):
        b, h, w, _ = inputs_shape
        if self.upsample:
            h = None if h is None else 2 * h
            w = None if w is None else 2 * w
        return (b, h, w, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, num_classes=self.num_classes,
                      upsample=self.upsample, learnable_shortcut=self.learnable_shortcut,
                      sync_bn=self.sync_bn, momentum=self.momentum, epsilon=self.epsilon,
                      spectral_norm=self.spectral_norm, init=self.init)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class ResBlockDown(keras.layers.Layer):
    """Discriminator residual block of the SNGAN / WGAN-GP CIFAR ResNet (no normalisation).

    Regular block: main path ReLU -> Conv3x3 (C_in -> hidden) -> ReLU -> Conv3x3 (hidden ->
    filters) [-> AvgPool2]; shortcut Conv1x1 [-> AvgPool2] (or the identity, see
    `learnable_shortcut`). SNGAN's ImageNet discriminators use `hidden = C_in`.
    Optimized (first) block, which sees the raw image: main path Conv3x3 -> ReLU -> Conv3x3
    [-> AvgPool2]; shortcut [AvgPool2 ->] Conv1x1, always learnable.
    When downsampling, the last Conv3x3 -> AvgPool2 of the main path runs as one
    `ConvAvgPool2D`.

    Args:
        filters: output channels (also the hidden channels unless `hidden_channels` is set).
        downsample: halve the spatial size with 2x2 average pooling.
        optimized: the first-block variant without the leading ReLU.
        learnable_shortcut: "always" (a Conv1x1 in every block, the FastGAN authors' code) or
            "auto" (only when the channels change or the block downsamples, SNGAN's code).
        spectral_norm: wrap every convolution in `keras.layers.SpectralNormalization`.
        hidden_channels: output channels of the first Conv3x3 of a regular block; None means
            `filters` (the CIFAR ResNet, where they are equal to C_in). The optimized block
            always uses `filters`, as in SNGAN.
        **kwargs: forwarded to `keras.layers.Layer`.

    Call args:
        inputs: float `[B, H, W, C_in]`.
        training: updates the spectral-norm power iteration when True.

    Returns:
        `[B, H/2, W/2, filters]` (`[B, H, W, filters]` without downsampling).
    """

    def __init__(self, filters, downsample=True, optimized=False, learnable_shortcut="always",
                 spectral_norm=False, hidden_channels=None, init="chainer", **kwargs):
        super().__init__(**kwargs)
        _check_shortcut_mode(learnable_shortcut)
        self.init = check_init(type(self).__name__, init)
        if hidden_channels is not None and (
                not isinstance(hidden_channels, int) or hidden_channels < 1):
            raise ValueError(f"hidden_channels must be a positive int or None, got "
                             f"{hidden_channels!r}.")
        self.filters = filters
        self.downsample = downsample
        self.optimized = optimized
        self.learnable_shortcut = learnable_shortcut
        self.spectral_norm = spectral_norm
        self.hidden_channels = hidden_channels

    def _conv(self, kernel_size, in_channels, name, cls=keras.layers.Conv2D, filters=None):
        conv = cls(filters or self.filters, kernel_size, padding="same", name=name,
                   **initializers(self.init, kernel_size * kernel_size * in_channels,
                                  residual=kernel_size == 3))
        return spectral_norm_if(conv, self.spectral_norm)

    def build(self, inputs_shape):
        in_channels = inputs_shape[-1]
        self.has_shortcut_conv = (self.optimized or self.learnable_shortcut == "always"
                                  or self.downsample or in_channels != self.filters)
        hidden = None if self.optimized else self.hidden_channels
        self.conv1 = self._conv(3, in_channels, "conv1", filters=hidden)
        self.conv2 = self._conv(3, hidden or self.filters, "conv2",
                                cls=ConvAvgPool2D if self.downsample else keras.layers.Conv2D)
        if self.has_shortcut_conv:
            self.conv_sc = self._conv(1, in_channels, "conv_sc")
        self.pool = keras.layers.AveragePooling2D(2, name="pool")

    def call(self, inputs, training=None):
        h = inputs if self.optimized else masked_activation(inputs)
        h = self.conv1(h, training=training)
        h = self.conv2(tf.nn.relu(h), training=training)  # pools too (ConvAvgPool2D)
        # Average pooling and a 1x1 convolution (with bias) are both linear per pixel and
        # commute, so pool first (the optimized block's order) at a quarter of the cost of
        # SNGAN's Conv1x1 -> AvgPool order of the regular block: the same function.
        sc = self.pool(inputs) if self.downsample else inputs
        if self.has_shortcut_conv:
            sc = self.conv_sc(sc, training=training)
        return h + sc

    def compute_output_shape(self, inputs_shape):
        b, h, w, _ = inputs_shape
        if self.downsample:
            h = None if h is None else h // 2
            w = None if w is None else w // 2
        return (b, h, w, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, downsample=self.downsample, optimized=self.optimized,
                      learnable_shortcut=self.learnable_shortcut,
                      spectral_norm=self.spectral_norm, hidden_channels=self.hidden_channels,
                      init=self.init)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class SelfAttention(keras.layers.Layer):
    """SAGAN's self-attention block (Zhang et al. 2019, "Self-Attention GANs", eq. 1-3).

    With `N = H * W` positions of `x` `[B, H, W, C]` and 1x1 convolutions without bias,
    `f(x) = W_f x` (theta, C/8 channels), `g(x) = W_g x` (phi, C/8), `h(x) = W_h x` (g, C/2) and
    `v(.) = W_v .` (back to C channels):

        beta[i, j] = softmax_j(f(x_i)^T g(x_j))               (eq. 1)
        o_i = v(sum_j beta[i, j] h(x_j))                      (eq. 2)
        y_i = x_i + gamma * o_i                                (eq. 3)

    As in the authors' TensorFlow code and TF-GAN's SAGAN example (`sn_non_local_block_sim`),
    the keys g(x) and values h(x) are 2x2 max-pooled, so `j` runs over the `N / 4` pooled
    positions, there is no `1 / sqrt(d)` scaling, the convolutions are Xavier-uniform
    initialised, and `gamma` is one learnt scalar starting at 0 (the block starts as the identity).

    Args:
        spectral_norm: wrap the four convolutions in `keras.layers.SpectralNormalization`
            (SAGAN normalises both G and D); `gamma` is not normalised.
        **kwargs: forwarded to `keras.layers.Layer`.

    Call args:
        inputs: float `[B, H, W, C]` with `C >= 8` and even `H`, `W`.
        training: advances the spectral-norm power iterations when True.

    Returns:
        `[B, H, W, C]`, the input plus the scaled attention output.

    Raises:
        ValueError: at build time, on fewer than 8 channels or an odd spatial size.
    """

    def __init__(self, spectral_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm = spectral_norm

    def build(self, inputs_shape):
        channels = inputs_shape[-1]
        if channels is None or channels < 8:
            raise ValueError(f"{self.name}: SelfAttention needs at least 8 channels (C/8 query "
                             f"and key channels), got inputs of shape {tuple(inputs_shape)}.")
        for size in inputs_shape[1:3]:
            if size is not None and size % 2:
                raise ValueError(f"{self.name}: SelfAttention max-pools keys and values 2x2 and "
                                 f"needs an even height and width, got inputs of shape "
                                 f"{tuple(inputs_shape)}.")

        def conv(filters, name):
            return spectral_norm_if(
                keras.layers.Conv2D(filters, 1, use_bias=False, kernel_initializer=_linear_init(),
                                    name=name, dtype=self.dtype_policy), self.spectral_norm)

        self.theta = conv(channels // 8, "theta")
        self.phi = conv(channels // 8, "phi")
        self.g = conv(channels // 2, "g")
        self.attn_out = conv(channels, "attn_out")
        self.pool = keras.layers.MaxPooling2D(2, name="pool", dtype=self.dtype_policy)
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros",
                                     trainable=True)
        shape = tuple(inputs_shape)
        self.theta.build(shape)
        self.phi.build(shape)
        self.g.build(shape)
        self.attn_out.build(shape[:-1] + (channels // 2,))

    def call(self, inputs, training=None):
        channels = inputs.shape[-1]
        shape = tf.shape(inputs)
        batch, height, width = shape[0], shape[1], shape[2]
        query = tf.reshape(self.theta(inputs, training=training), [batch, -1, channels // 8])
        key = tf.reshape(self.pool(self.phi(inputs, training=training)),
                         [batch, -1, channels // 8])
        value = tf.reshape(self.pool(self.g(inputs, training=training)),
                           [batch, -1, channels // 2])
        # Softmax in float32: bfloat16 logits over N/4 keys would round the weights badly.
        logits = tf.matmul(tf.cast(query, tf.float32), tf.cast(key, tf.float32),
                           transpose_b=True)  # [B, N, N/4]
        beta = tf.cast(tf.nn.softmax(logits, axis=-1), value.dtype)
        attended = tf.reshape(tf.matmul(beta, value), [batch, height, width, channels // 2])
        out = self.attn_out(attended, training=training)
        return inputs + tf.cast(self.gamma, out.dtype) * out

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(spectral_norm=self.spectral_norm)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class ACHead(keras.layers.Layer):
    """Auxiliary-classifier head: an adversarial logit and class logits on the same features.

    `logits = phi @ w + b` and `class_logits = phi @ W_c + b_c` (AC-GAN; FastGAN's D).

    Args:
        num_classes: number of classes `K`.
        spectral_norm: wrap both dense layers in `keras.layers.SpectralNormalization`.
        init: "chainer" or "pytorch" (the biases; see the module docstring).
        **kwargs: forwarded to `keras.layers.Layer`; pass `dtype="float32"` to get float32
            logits under a mixed-precision policy (the ResNet discriminator does).

    Call args:
        features: float `[B, F]`.
        training: updates the spectral-norm power iteration when True.

    Returns:
        `{"logits": [B], "class_logits": [B, K]}` in the layer's compute dtype.
    """

    def __init__(self, num_classes, spectral_norm=False, init="chainer", **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.spectral_norm = spectral_norm
        self.init = check_init(type(self).__name__, init)

    def build(self, features_shape):
        def dense(units, name):
            return spectral_norm_if(
                keras.layers.Dense(units, name=name, dtype=self.dtype_policy,
                                   **initializers(self.init, features_shape[-1])),
                self.spectral_norm)

        self.adv = dense(1, "adv")
        self.cls = dense(self.num_classes, "cls")

    def call(self, features, training=None):
        logits = tf.squeeze(self.adv(features, training=training), axis=-1)
        return {"logits": logits, "class_logits": self.cls(features, training=training)}

    def compute_output_shape(self, features_shape):
        return {"logits": (features_shape[0],),
                "class_logits": (features_shape[0], self.num_classes)}

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, spectral_norm=self.spectral_norm,
                      init=self.init)
        return config


@keras.saving.register_keras_serializable(package="tfgan_fast")
class ProjectionHead(keras.layers.Layer):
    """SNGAN's projection head (Miyato & Koyama 2018, eq. 3).

    `logits = psi(phi) + <V[y], phi>`, with `psi` a Dense(1) and `V` a `[K, F]` class-embedding
    table. The lookup is a one-hot matmul with a bias-free Dense, which computes exactly
    `Embedding(K, F)(y)` with the same `[K, F]` weight, because Keras' `SpectralNormalization`
    cannot wrap an `Embedding` in a model (it casts the output to the integer label dtype and fixes
    the batch size in its input spec); the Dense form lets `spectral_norm=True` normalise `V`
    like SNGAN's `SNEmbedID`.

    Args:
        num_classes: number of classes `K`.
        spectral_norm: wrap `psi` and `V` in `keras.layers.SpectralNormalization`.
        init: "chainer" or "pytorch" (the bias of `psi`; see the module docstring).
        **kwargs: forwarded to `keras.layers.Layer`.

    Call args:
        features: float `[B, F]` (phi).
        labels: int `[B]` class ids.
        training: updates the spectral-norm power iteration when True.

    Returns:
        `{"logits": [B]}` in the layer's compute dtype.
    """

    def __init__(self, num_classes, spectral_norm=False, init="chainer", **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.spectral_norm = spectral_norm
        self.init = check_init(type(self).__name__, init)

    def build(self, features_shape, labels_shape=None):
        features = features_shape[-1]
        self.psi = spectral_norm_if(
            keras.layers.Dense(1, name="psi", dtype=self.dtype_policy,
                               **initializers(self.init, features)), self.spectral_norm)
        self.embed = spectral_norm_if(
            keras.layers.Dense(features, use_bias=False, kernel_initializer=_linear_init(),
                               name="embed", dtype=self.dtype_policy), self.spectral_norm)
        self.psi.build((None, features))
        self.embed.build((None, self.num_classes))

    def call(self, features, labels, training=None):
        if labels is None:
            raise ValueError(f"{self.name}: the projection head needs labels, got None.")
        one_hot = tf.one_hot(tf.cast(labels, tf.int32), self.num_classes, dtype=features.dtype)
        class_embedding = self.embed(one_hot, training=training)
        projection = tf.reduce_sum(class_embedding * features, axis=-1)
        return {"logits": tf.squeeze(self.psi(features, training=training), -1) + projection}

    def compute_output_shape(self, features_shape, labels_shape=None):
        return {"logits": (features_shape[0],)}

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, spectral_norm=self.spectral_norm,
                      init=self.init)
        return config
