"""Real-input transforms: what D's real inputs are in a D update (`GANTrainer.real_transform`).

- `None` (no transform): the real images as they are.
- `PGDAttack`: RobGAN's K-step PGD perturbation, recomputed for every D update (Liu & Hsieh 2019;
  Zhong 2020 thesis, Alg. 1).
- `FreeAdversarial`: FastGAN's persistent perturbation `delta`, moved by one signed step of the
  input gradient that each D update's backward pass gives for free (Zhong et al. 2020, Alg. 1).

A transform is called once per D update (`apply`), before D's gradient tape records the update;
with `needs_input_gradient` the update also returns `dL_D^r / d inputs` (`after_update`). The pure
cores come first: perturbations L-infinity bounded by `eps` of images in [-1, 1], each
returned inside the eps-ball whatever its inputs.
"""

import gin
import tensorflow as tf

from tfgan_fast.runtime import distribute
from tfgan_fast.runtime import precision
from tfgan_fast.runtime import randomness
from tfgan_fast.runtime.randomness import Salt

# TensorBoard's descriptions of the transforms' logs.
SCALARS = {
    "delta_l2": "FastGAN: mean L2 norm of the persistent perturbation, per image.",
    "delta_linf": "FastGAN: largest perturbation of a pixel (at most the radius).",
    "sigma_linf": "RobGAN: largest PGD perturbation of a pixel (at most the radius).",
}


# --- the pure cores ---------------------------------------------------------------------------

def project_linf(delta, eps):
    """Projection onto the L-inf ball of radius `eps` (elementwise clip)."""
    return tf.clip_by_value(delta, -eps, eps)


def perturb(images, delta):
    """`clip(x + delta, -1, 1)`: the adversarial input, kept a valid image."""
    return tf.clip_by_value(images + delta, -1.0, 1.0)


def free_adversarial_update(delta, grad, tau, eps):
    """One free-adversarial replay update of the persistent perturbation.

    Zhong et al. 2020, Alg. 1 line 10: ascent on D's loss on real data,
    `delta <- clip(delta + tau * sign(g_x), -eps, eps)`, where `g_x = dL_D^r / dx_adv`.

    Args:
        delta: `[B, H, W, C]` current perturbation.
        grad: `[B, H, W, C]` gradient of D's (minimised) real loss w.r.t. the perturbed input.
        tau: step size.
        eps: radius of the L-inf ball.

    Returns:
        The new perturbation, `[B, H, W, C]`, with `|delta| <= eps` elementwise.
    """
    return project_linf(delta + tau * tf.sign(grad), eps)


def initial_delta(shape, eps, seed, dtype=tf.float32):
    """The authors' initialisation `clip(N(0, 1), -eps, eps)`, stateless under `seed` (int32 [2])."""
    return project_linf(tf.random.stateless_normal(shape, seed=seed, dtype=dtype), eps)


def uniform_delta(shape, eps, seed, dtype=tf.float32):
    """RobGAN's PGD start: `sigma ~ U(-eps, eps)`, stateless under `seed` (`[2]` int)."""
    return tf.random.stateless_uniform(shape, seed=seed, minval=-eps, maxval=eps, dtype=dtype)


def pgd(loss_fn, images, delta, steps, tau, eps):
    """Projected gradient ascent on `loss_fn` in the L-inf ball (RobGAN: Zhong 2020 thesis, Alg. 1).

    `steps` times: `delta <- clip(delta + tau * sign(d loss_fn(clip(x + delta)) / dx), -eps, eps)`.
    The loop is unrolled in Python, so exactly `steps` updates run, and the returned perturbation
    carries no gradient (the attack is not differentiated through).

    Args:
        loss_fn: `fn(images [B, H, W, C]) -> per-example loss [B]` to be INCREASED (D's loss on
            real data). Examples must not interact (no batch norm in D), so each example's
            gradient is that of its own loss.
        images: `[B, H, W, C]` clean images in [-1, 1].
        delta: `[B, H, W, C]` starting perturbation (`uniform_delta`).
        steps: K >= 0, number of ascent steps.
        tau: step size.
        eps: radius of the L-inf ball.

    Returns:
        The perturbation after K steps, `[B, H, W, C]`, with `|delta| <= eps` elementwise.
    """
    if steps < 0:
        raise ValueError(f"pgd: steps must be >= 0, got {steps}")
    delta = project_linf(delta, eps)
    for _ in range(int(steps)):
        adv = perturb(images, delta)
        with tf.GradientTape() as tape:
            tape.watch(adv)
            loss = tf.reduce_sum(loss_fn(adv))
        # Scaled like the D update it belongs to under float16 (`precision.gradient_scale`).
        grad = precision.scaled_gradient(tape, loss, adv)
        delta = project_linf(delta + tau * tf.sign(grad), eps)
    return tf.stop_gradient(delta)


# --- the transforms ---------------------------------------------------------------------------

def _radius(owner, radius, default):
    """`radius`, or `default` for None."""
    value = radius if radius is not None else default
    if value < 0:
        raise ValueError(f"{owner}.radius must be >= 0, got {value}")
    return float(value)


class RealTransform:
    """The interface, and the identity: D sees the real images as they are."""

    name = "none"
    needs_input_gradient = False

    def check(self, trainer):
        """Raises ValueError if this transform does not compose with `trainer`'s other parts."""

    def build(self, trainer, per_replica_batch_size, image_shape):
        """Creates state variables (in the strategy's scope)."""

    def initialize(self, trainer):
        """Initialises the state (replica context)."""

    def variables(self):
        return []

    def checkpoint_items(self, strategy):
        return {}

    def apply(self, trainer, images, labels, rng):
        """D's real inputs for one update, and scalar logs."""
        del trainer, labels, rng
        return images, {}

    def after_update(self, input_gradient):
        """Consumes `dL_D^r / d inputs` of the update (with `needs_input_gradient`)."""

    def step_logs(self):
        """Scalar logs after a D step's updates."""
        return {}


class PGDAttack(RealTransform):
    """RobGAN's PGD on D's real loss: `sigma ~ U(-r, r)`, then K steps of
    `sigma <- clip(sigma + tau * sign(grad), -r, r)`; D sees `clip(x + sigma, -1, 1)`.

    D runs in inference mode during the attack: it must not advance spectral norm's power
    iteration (D has no batch norm, so nothing else differs).

    Args:
        steps: K (3 on CIFAR, Zhong et al. 2020, App. B.4).
        radius: the L-inf radius on the [-1, 1] scale (0.006 on CIFAR).
        tau: the PGD step size (0.002 on CIFAR).
    """

    name = "PGD"

    def __init__(self, steps=3, radius=0.006, tau=0.002):
        if steps < 0:
            raise ValueError(f"PGDAttack.steps must be >= 0, got {steps}")
        if tau < 0:
            raise ValueError(f"PGDAttack.tau must be >= 0, got {tau}")
        self.steps = int(steps)
        self.radius = _radius("PGDAttack", radius, 0.006)
        self.tau = float(tau)

    def apply(self, trainer, images, labels, rng):
        start = distribute.replica_rows(
            lambda shape: uniform_delta(shape, self.radius, rng.seed(Salt.ATTACK_INIT)),
            images.shape)

        def real_loss(x):
            outputs = trainer.discriminator(x, labels, training=False)
            return trainer.loss.d_real(outputs, labels)[0]

        sigma = pgd(real_loss, images, start, self.steps, self.tau, self.radius)
        return perturb(images, sigma), {"sigma_linf": tf.reduce_max(tf.abs(sigma))}


class FreeAdversarial(RealTransform):
    """FastGAN's free adversarial training: a persistent perturbation `delta`, one per replica,
    saved in checkpoints; after each D update `delta <- clip(delta + tau * sign(g_x), -r, r)`
    with `g_x = dL_D^r / d(x + delta)` from that update's own backward pass.

    Args:
        radius: `c_max` of the L-inf ball in [-1, 1] pixel units (0.006 CIFAR, 0.03
            ImageNet-143, 0.01 ImageNet). 0 disables the perturbation (Zhong et al. 2020, Table 2
            ablation) while keeping the replays.
        tau: the step; defaults to `radius` (Zhong et al. 2020, Alg. 1 line 10 uses c_max).
    """

    name = "free adversarial"

    def __init__(self, radius=0.006, tau=None):
        self.radius = _radius("FreeAdversarial", radius, 0.006)
        self.tau = float(self.radius if tau is None else tau)
        self.delta = None

    @property
    def needs_input_gradient(self):
        return self.radius > 0

    def check(self, trainer):
        if trainer.penalty is not None:
            raise ValueError(
                "FreeAdversarial needs D's input gradient from the update's backward pass, which "
                f"a gradient penalty's own pass on the reals hides: drop {trainer.penalty!r} or "
                "use PGDAttack")
        if trainer.batch.name != "standard":
            raise ValueError(
                f"FreeAdversarial keeps one perturbation per real example: it needs the standard "
                f"batch composition, got {trainer.batch!r}")

    def build(self, trainer, per_replica_batch_size, image_shape):
        # One perturbation per replica (ON_READ: each replica reads and writes its own copy;
        # checkpoints hold every replica's rows, see `distribute.ReplicaState`).
        self.delta = tf.Variable(
            tf.zeros((per_replica_batch_size,) + tuple(image_shape)), trainable=False,
            name="delta", synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def initialize(self, trainer):
        self.delta.assign(distribute.replica_rows(
            lambda shape: initial_delta(shape, self.radius,
                                                seed=randomness.state_seed(trainer.seed)),
            self.delta.shape))

    def variables(self):
        return [self.delta]

    def checkpoint_items(self, strategy):
        return {"delta": distribute.ReplicaState(self.delta, strategy, "delta")}

    def apply(self, trainer, images, labels, rng):
        del trainer, labels, rng
        if self.delta.shape[0] != images.shape[0]:
            raise ValueError(f"FastGAN's perturbation was built for a per-replica batch of "
                             f"{self.delta.shape[0]}, got real images of shape {images.shape}")
        return perturb(images, self.delta), {}

    def after_update(self, input_gradient):
        if self.radius > 0:
            self.delta.assign(free_adversarial_update(
                self.delta, input_gradient, self.tau, self.radius))

    def step_logs(self):
        flat = tf.reshape(self.delta, [self.delta.shape[0], -1])
        return {"delta_l2": tf.reduce_mean(tf.norm(flat, axis=1)),
                "delta_linf": tf.reduce_max(tf.abs(flat))}


gin.external_configurable(PGDAttack, module="tfgan_fast")
gin.external_configurable(FreeAdversarial, module="tfgan_fast")
