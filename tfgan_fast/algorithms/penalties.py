"""Gradient penalties on the discriminator's input gradient, eager-safe (nested `GradientTape`).

Every penalty here is *per example* (shape `[B]`) and differentiable w.r.t. D's weights: the
input gradient is taken with an inner tape that records under the caller's outer tape, so the
outer tape differentiates through it (a double backward). Reduce with
`distribute.replica_loss` like any loss.

Per-example input gradients come from one backward pass of `sum(D(x))`: this is exact when D
has no coupling between the examples of a batch (no batch norm in training mode, no minibatch
statistics), true of every FARGAN discriminator (Tao & Wang 2020, App. D) and of the MLPs.

- `zero_centered_penalty`: `k * ||grad_x D0(x)||^2` at given points (Tao & Wang 2020, §5.1
  "zero-centred gradient penalty"; in FARGAN, eq. 11, over the reals and the fakes counted as real).
- `uniform_interpolates` + the same penalty: the 0GP on real-fake interpolates of Thanh-Tung et al.
  2019, `t ~ U(0, 1)` per pair, NOT a normal.
- `center=1` gives WGAN-GP's `(||grad|| - 1)^2` on the same interpolates.

`SamplePenalty` and `InterpolationPenalty` package these as the trainer's penalty part
(`GANTrainer.penalty`): both are called as `penalty(d_fn, positives, positive_labels, fakes,
fake_labels, seed)` and return `(per_example_penalty, D's outputs on the positives)` (and
`R1R2Penalty`, which also takes its D pass on the fakes, D's outputs on them), so
`FARGAN.penalty = @InterpolationPenalty()` is the NSGAN-0GP-interpolation baseline of Tao & Wang
2020 Fig. 1 and `SamplePenalty.weight = 0.0` the plain NSGAN.
"""

import gin
import tensorflow as tf

from tfgan_fast.runtime import precision

# TensorBoard's descriptions of what a penalty adds to the trainer's logs.
SCALARS = {
    "d_penalty": "FARGAN / 0GP: the zero-centred gradient penalty, weighted.",
}


def _sum_over_features(x):
    return tf.reduce_sum(x, axis=list(range(1, x.shape.rank)))


OUTPUTS = ("logits", "probability")


def _check_output(owner, output):
    if output not in OUTPUTS:
        raise ValueError(f"{owner}.output must be one of {OUTPUTS}, got {output!r}")


def input_gradients(logit_fn, inputs, output="logits"):
    """`D0(x)` and the input gradient of D's output per example, recorded for an enclosing tape.

    Args:
        logit_fn: `fn(x) -> [B]` pre-sigmoid outputs, no coupling between examples.
        inputs: `[B, ...]` points (treated as constants; their own gradient is not needed).
        output: `"logits"`: `grad_x D0(x)` (Tao & Wang 2020, eq. 11); `"probability"`:
            `grad_x sigmoid(D0(x)) = sigmoid'(D0(x)) grad_x D0(x)`, the gradient of the
            sigmoid output as in the code of Thanh-Tung et al. 2019 (its D ends in a sigmoid).

    Returns:
        `(logits [B] float32, gradients [B, ...] float32)`.
    """
    _check_output("input_gradients", output)
    inputs = tf.stop_gradient(tf.convert_to_tensor(inputs))
    with tf.GradientTape(watch_accessed_variables=False) as inner:
        inner.watch(inputs)
        logits = tf.cast(logit_fn(inputs), tf.float32)
        total = tf.reduce_sum(logits if output == "logits" else tf.sigmoid(logits))
    # Scaled like D's update under float16 (`precision.gradient_scale`).
    grads = precision.scaled_gradient(inner, total, inputs)
    return logits, tf.cast(grads, tf.float32)


def gradient_penalty(logit_fn, inputs, weight=10.0, center=0.0, output="logits"):
    """`weight * (||grad_x D0(x)|| - center)^2` per example, and `D0(x)`.

    With `center = 0` this is the zero-centred penalty `weight * ||grad_x D0(x)||^2` (computed
    without a square root, so it is smooth at a zero gradient).

    Args:
        logit_fn: `fn(x) -> [B]`.
        inputs: `[B, ...]`.
        weight: k (10 in Tao & Wang 2020).
        center: 0 (Tao & Wang 2020, Thanh-Tung et al. 2019) or 1 (WGAN-GP).
        output: which output's gradient, see `input_gradients`.

    Returns:
        `(penalty [B], logits [B])`.
    """
    logits, grads = input_gradients(logit_fn, inputs, output)
    sq_norm = _sum_over_features(tf.square(grads))
    if center == 0:
        return weight * sq_norm, logits
    norm = tf.sqrt(sq_norm + 1e-12)
    return weight * tf.square(norm - center), logits


def zero_centered_penalty(logit_fn, inputs, weight=10.0):
    """`weight * ||grad_x D0(x)||^2` per example, and `D0(x)` `[B]` (Tao & Wang 2020, §5.1)."""
    return gradient_penalty(logit_fn, inputs, weight=weight, center=0.0)


def uniform_interpolates(reals, fakes, seed):
    """`t * x + (1 - t) * y`, one `t ~ U(0, 1)` per pair (Thanh-Tung et al. 2019, WGAN-GP).

    Args:
        reals, fakes: `[B, ...]` with the same shape.
        seed: `[2]` stateless seed.

    Returns:
        `[B, ...]`.
    """
    if reals.shape[0] is not None and fakes.shape[0] is not None and \
            reals.shape[0] != fakes.shape[0]:
        raise ValueError(f"interpolation pairs reals {reals.shape} with fakes {fakes.shape}: "
                         "batch sizes differ")
    t_shape = tf.concat([tf.shape(reals)[:1], tf.ones([reals.shape.rank - 1], tf.int32)], 0)
    t = tf.random.stateless_uniform(t_shape, seed=seed, minval=0.0, maxval=1.0,
                                    dtype=reals.dtype)
    return t * reals + (1.0 - t) * tf.cast(fakes, reals.dtype)


def _float32_outputs(d_fn, labels):
    """`(logit_fn, outputs)`: `logit_fn(x)` runs `d_fn(x, labels)`, keeps its float32 outputs in
    the dict `outputs` and returns their logits (the input gradient's pass also yields D's
    outputs, so the loss needs no second call)."""
    outputs = {}

    def logit_fn(x):
        out = d_fn(x, labels)
        outputs.clear()
        outputs.update({k: tf.cast(v, tf.float32) for k, v in out.items()})
        return outputs["logits"]

    return logit_fn, outputs


class SamplePenalty:
    """Zero-centred gradient penalty on the "positive" samples (Tao & Wang 2020, eq. 11).

    In FARGAN the positives are the N1 reals and the N0 fakes counted as real; with N0 = 0 this is
    NSGAN-0GP-sample, and R1 (Mescheder et al. 2018) with `weight = gamma / 2`. `weight = 0` skips
    the double backward (plain NSGAN, Tao & Wang 2020, Fig. 1a).

    Args:
        weight: k (10 in Tao & Wang 2020).
        output: `"logits"` penalises `||grad D0||^2` (Tao & Wang 2020, eq. 11), `"probability"`
            `||grad sigmoid(D0)||^2` (the code of Thanh-Tung et al. 2019).
    """

    def __init__(self, weight=10.0, output="logits"):
        if weight < 0:
            raise ValueError(f"SamplePenalty.weight must be >= 0, got {weight}")
        _check_output("SamplePenalty", output)
        self.weight = float(weight)
        self.output = output

    def __call__(self, d_fn, positives, positive_labels, fakes, fake_labels, seed):
        """The penalty on `positives`, and D's float32 outputs on them.

        Args:
            d_fn: `fn(x, labels) -> D's output dict` (training mode), no coupling between
                examples.
            positives: `[N, ...]` the points D is to call real; `positive_labels` int `[N]` or
                None.
            fakes, fake_labels, seed: unused here (see `InterpolationPenalty`).

        Returns:
            `(penalty [N], outputs)`: `outputs` D's output dict on `positives`, float32.
        """
        del fakes, fake_labels, seed
        logit_fn, outputs = _float32_outputs(d_fn, positive_labels)
        if self.weight == 0:
            logits = logit_fn(positives)
            return tf.zeros_like(logits), outputs
        penalty, _ = gradient_penalty(logit_fn, positives, self.weight, 0.0, self.output)
        return penalty, outputs


class InterpolationPenalty:
    """`weight * (||grad D0(x_hat)|| - center)^2` on uniform real-fake interpolates.

    `center = 0` is the 0GP of Thanh-Tung et al. 2019 (NSGAN-0GP-interpolation in Tao & Wang 2020,
    Fig. 1); `center = 1` is WGAN-GP. The first `min(N, M)` positives and fakes are paired; a
    conditional D sees the interpolates with the positives' labels.

    Args:
        weight: k.
        center: 0 or 1.
        output: `"logits"` or `"probability"`, as `SamplePenalty`.
    """

    def __init__(self, weight=10.0, center=0.0, output="logits"):
        if weight < 0:
            raise ValueError(f"InterpolationPenalty.weight must be >= 0, got {weight}")
        _check_output("InterpolationPenalty", output)
        self.weight = float(weight)
        self.center = float(center)
        self.output = output

    def __call__(self, d_fn, positives, positive_labels, fakes, fake_labels, seed):
        """Returns `(penalty [min(N, M)], D's float32 outputs on positives [N])`; see
        `SamplePenalty`."""
        del fake_labels
        n = min(positives.shape[0], fakes.shape[0])
        x_hat = uniform_interpolates(positives[:n], fakes[:n], seed)
        hat_labels = None if positive_labels is None else positive_labels[:n]
        hat_fn, _ = _float32_outputs(d_fn, hat_labels)
        penalty, _ = gradient_penalty(hat_fn, x_hat, self.weight, self.center, self.output)
        logit_fn, outputs = _float32_outputs(d_fn, positive_labels)
        logit_fn(positives)
        return penalty, outputs


class R1R2Penalty:
    """R3GAN's zero-centred penalties on reals (R1) and on fakes (R2): per pair `i`,
    `gamma / 2 * (||grad_x D(x_r,i)||^2 + ||grad_x D(x_f,i)||^2)` (Huang et al. 2024, eq. 3-4;
    R1 of Mescheder et al. 2018). One pass per side gives D's outputs and their input
    gradients, so D is called once on the reals and once on the fakes.

    Args:
        gamma: the penalties' weight (R3GAN uses 0.05 on CIFAR-10 at the start of its schedule).
    """

    def __init__(self, gamma=0.05):
        if gamma < 0:
            raise ValueError(f"R1R2Penalty.gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)

    def __repr__(self):
        return f"R1R2Penalty(gamma={self.gamma:g})"

    def __call__(self, d_fn, positives, positive_labels, fakes, fake_labels, seed):
        """Returns `(penalty [N], outputs on positives, outputs on fakes)` (N positives and N
        fakes, paired)."""
        del seed
        if positives.shape[0] != fakes.shape[0]:
            raise ValueError(f"R1R2Penalty pairs reals with fakes: got {positives.shape[0]} "
                             f"and {fakes.shape[0]}")
        real_fn, real_out = _float32_outputs(d_fn, positive_labels)
        fake_fn, fake_out = _float32_outputs(d_fn, fake_labels)
        r1, _ = gradient_penalty(real_fn, positives, 0.5 * self.gamma)
        r2, _ = gradient_penalty(fake_fn, fakes, 0.5 * self.gamma)
        return r1 + r2, real_out, fake_out


gin.external_configurable(R1R2Penalty, module="tfgan_fast")
gin.external_configurable(SamplePenalty, module="tfgan_fast")
gin.external_configurable(InterpolationPenalty, module="tfgan_fast")
