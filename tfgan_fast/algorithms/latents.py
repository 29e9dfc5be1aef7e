"""Latent transforms: the latents a training step feeds to G (`GANTrainer.latent_transform`),
with the latent samplers and the pure maths of LOGAN's latent step.

- Samplers `fn(shape, seed) -> z`: `normal_latents` (FastGAN, SNGAN), `uniform_latents` (LOGAN).
- `None` (no transform): the sampled `z`.
- `LatentOptimization`: LOGAN's latent step (Wu et al. 2019, Alg. 1, eq. 4-6, 16-17): the sampled
  `z ~ U(-1, 1)` moves towards higher `f(z) = D(G(z, y), y)`, `z' = clip(z + mask * dz, -1, 1)`
  with `dz` a GD or NGD step, and the step's loss gains `R_z = w_r * ||dz||^2` (eq. 17). Made
  inside the loss's gradient tape, D's and G's gradients contain the second-order terms of eq. 6
  (`(d dz / d theta)^T df(z')/dz'`); the ablations of Wu et al. 2019, §5.2.3 stop them in the D
  step (`stop_gradient_d`), the G step (`stop_gradient_g`), or both.

The pure steps, with `f(z) = D(G(z))` (the discriminator's logit, one per sample) and `g = df/dz`:

- GD (eq. 4, CS-GAN):  `dz = alpha * g`
- NGD (eq. 16):        `dz = alpha / (beta + ||g||^2) * g`, the Sherman-Morrison closed form of
  `(g g^T + beta I) dz = alpha g` (empirical Fisher with Tikhonov damping, eq. 15).

Only a fixed random fraction `c` of z's dimensions is optimised (Wu et al. 2019, §4): `g` is masked
first, so the step (and the norm in NGD's damping) lives in the optimised subspace and the other
dimensions keep their sampled values. Each step ends with `z <- clip(z + dz, -1, 1)` (Alg. 1). `R_z
= w_r * ||dz||^2` (eq. 17) is computed by the caller from `LatentResult.step_sq_norm`.

The steps are written so that a surrounding `tf.GradientTape` records them (`create_graph=True`):
differentiating a loss at the optimised z then gives the second-order terms of eq. 6.
"""

import collections

import gin
import tensorflow as tf

from tfgan_fast.runtime import distribute
from tfgan_fast.runtime import precision
from tfgan_fast.runtime.randomness import Salt

STEPS = ("discriminator", "generator")

# TensorBoard's descriptions of what a latent transform adds to the trainer's logs.
SCALARS = {
    "d_latent_penalty": "LOGAN: the latent-step penalty R_z added to D's loss.",
    "g_latent_penalty": "LOGAN: the latent-step penalty R_z added to G's loss.",
}


# --- latent samplers: `fn(shape, seed) -> z` -------------------------------------------------

@gin.register
def normal_latents(shape, seed):
    """`z ~ N(0, I)` (FastGAN, SNGAN)."""
    return tf.random.stateless_normal(shape, seed=seed)


@gin.register
def uniform_latents(shape, seed):
    """`z ~ U(-1, 1)` (LOGAN: its latent steps clip to [-1, 1])."""
    return tf.random.stateless_uniform(shape, seed=seed, minval=-1.0, maxval=1.0)


# --- LOGAN's latent steps ----------------------------------------------------------------------


@gin.configurable
class GradientStep:
    """GD latent step of CS-GAN / LOGAN (GD) (Wu et al. 2019, eq. 4): `dz = alpha * g`.

    Args:
        alpha: step size (Wu et al. 2019, §5.2.3 used 1e-4 for BigGAN-deep).
    """

    def __init__(self, alpha=1e-4):
        self.alpha = float(alpha)

    def __call__(self, g):
        """`g`: `[B, z_dim]` -> `dz` `[B, z_dim]`."""
        return self.alpha * g

    def __repr__(self):
        return f"GradientStep(alpha={self.alpha})"


@gin.configurable
class NaturalGradientStep:
    """NGD latent step (Wu et al. 2019, eq. 16), per sample: `dz = alpha / (beta + ||g||^2) * g`.

    Equals `alpha * (g g^T + beta I)^{-1} g` (Sherman-Morrison), without any matrix.

    Args:
        alpha: step size (0.9 in Wu et al. 2019 for SN-GAN and BigGAN-deep).
        beta: damping (0.1 SN-GAN, 5.0 BigGAN-deep).
    """

    def __init__(self, alpha=0.9, beta=0.1):
        if beta <= 0:
            raise ValueError(f"NaturalGradientStep.beta must be > 0, got {beta}")
        self.alpha = float(alpha)
        self.beta = float(beta)

    def __call__(self, g):
        """`g`: `[B, z_dim]` -> `dz` `[B, z_dim]`."""
        sq_norm = tf.reduce_sum(tf.square(g), axis=-1, keepdims=True)
        return self.alpha / (self.beta + sq_norm) * g

    def __repr__(self):
        return f"NaturalGradientStep(alpha={self.alpha}, beta={self.beta})"


def random_mask(shape, fraction, seed):
    """A `{0, 1}` float mask with exactly `round(fraction * D)` ones in each row, at random.

    Args:
        shape: `[B, D]`.
        fraction: c in [0, 1], the portion of z optimised (0.8 SN-GAN, 0.5 BigGAN-deep).
        seed: `[2]` int stateless seed (the trainer's `step_seed(salt)`).

    Returns:
        float32 `[B, D]`.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"the optimised fraction of z must be in [0, 1], got {fraction}")
    dim = int(shape[-1])
    k = int(round(fraction * dim))
    if k == dim:
        return tf.ones(shape, tf.float32)
    if k == 0:
        return tf.zeros(shape, tf.float32)
    noise = tf.random.stateless_uniform(shape, seed=seed)
    # The k largest of D continuous uniforms per row: a uniformly random k-subset.
    kth = tf.math.top_k(noise, k=k).values[:, -1:]
    return tf.cast(noise >= kth, tf.float32)


LatentResult = collections.namedtuple("LatentResult", ["z", "step_sq_norm", "num_updates"])
LatentResult.__doc__ = """Result of `optimize_latents`.

Attributes:
    z: `[B, z_dim]`, the optimised latents z'.
    step_sq_norm: `[B]`, `sum_k ||dz_k||^2` over the steps (one term in training), for `R_z`.
    num_updates: how many latent updates ran (a Python int).
"""


def optimize_latents(z, score_fn, step_fn, num_steps=1, mask=None, create_graph=True):
    """`num_steps` latent updates `z <- clip(z + mask * step_fn(mask * df/dz), -1, 1)`.

    Args:
        z: float `[B, z_dim]` in [-1, 1].
        score_fn: `fn(z) -> [B]`, the per-sample score to increase (`D(G(z, y), y)` logits).
            Per-sample gradients come from the gradient of the sum, exact when the networks
            do not couple the samples of a batch (batch norm in training mode couples them a
            little, as in every LOGAN implementation).
        step_fn: `fn(g [B, z_dim]) -> dz` (`NaturalGradientStep`, `GradientStep`).
        num_steps: updates to run; 0 returns z unchanged.
        mask: optional `{0, 1}` `[B, z_dim]` (`random_mask`), fixed across the steps.
        create_graph: keep the steps differentiable (training, eq. 6); False stops the gradient
            of each `g` (sampling).

    Returns:
        `LatentResult(z, step_sq_norm [B], num_updates)`.
    """
    if num_steps < 0:
        raise ValueError(f"num_steps must be >= 0, got {num_steps}")
    z = tf.convert_to_tensor(z, tf.float32)
    step_sq_norm = tf.zeros(tf.shape(z)[:1], tf.float32)
    num_updates = 0
    for _ in range(int(num_steps)):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(z)
            score = tf.cast(score_fn(z), tf.float32)
        # Scaled like the update it belongs to under float16 (`precision.gradient_scale`).
        g = precision.scaled_gradient(tape, score, z)
        if not create_graph:
            g = tf.stop_gradient(g)
        if mask is not None:
            g = g * mask
        dz = step_fn(g)
        if mask is not None:  # a no-op for steps proportional to g; exact for any step_fn
            dz = dz * mask
        step_sq_norm = step_sq_norm + tf.reduce_sum(tf.square(dz), axis=-1)
        z = tf.clip_by_value(z + dz, -1.0, 1.0)
        num_updates += 1
    return LatentResult(z, step_sq_norm, num_updates)


# --- the latent transform ---------------------------------------------------------------------

class LatentOptimization:
    """LOGAN's latent optimisation around the D and G steps.

    Args:
        latent_step: `fn(g) -> dz`: `NaturalGradientStep(alpha, beta)` (default, alpha
            0.9, beta 0.1) or `GradientStep(alpha)` (CS-GAN / LOGAN (GD)).
        latent_weight: w_r of `R_z = w_r * ||dz||^2` (eq. 17), added to both losses (0.1 SN-GAN,
            300 BigGAN-deep).
        optimized_fraction: c, the portion of z's dimensions optimised, a fixed random subset per
            sample (0.8 SN-GAN, 0.5 BigGAN-deep).
        latent_steps: latent updates per training step (1 in Wu et al. 2019).
        stop_gradient_d: Wu et al. 2019, §5.2.3 ablation: D's gradient does not see through `dz`.
            Needed when D replays one fake batch (`GANTrainer.d_replays > 1`): the fakes are made
            once, before D's updates.
        stop_gradient_g: the same for G's gradient.
    """

    name = "LOGAN latent optimisation"

    def __init__(self, latent_step=None, latent_weight=0.1, optimized_fraction=0.8,
                 latent_steps=1, stop_gradient_d=False, stop_gradient_g=False, owner="LOGAN"):
        if latent_weight < 0:
            raise ValueError(f"{owner}.latent_weight must be >= 0, got {latent_weight}")
        if not 0.0 <= optimized_fraction <= 1.0:
            raise ValueError(f"{owner}.optimized_fraction must be in [0, 1], got "
                             f"{optimized_fraction}")
        if not isinstance(latent_steps, int) or latent_steps < 0:
            raise ValueError(f"{owner}.latent_steps must be an integer >= 0, got "
                             f"{latent_steps!r}")
        self.latent_step = latent_step if latent_step is not None else (
            NaturalGradientStep(alpha=0.9, beta=0.1))
        self.latent_weight = float(latent_weight)
        self.optimized_fraction = float(optimized_fraction)
        self.latent_steps = latent_steps
        self.stop_gradient_d = bool(stop_gradient_d)
        self.stop_gradient_g = bool(stop_gradient_g)
        self.owner = owner

    def __repr__(self):
        return (f"LatentOptimization({self.latent_step!r}, w_r {self.latent_weight:g}, "
                f"c {self.optimized_fraction:g}, {self.latent_steps} step(s))")

    @property
    def d_gradient_through(self):
        """Whether D's gradient reaches its weights through the latent step (then the D step's
        fakes must be made inside its tape)."""
        return not self.stop_gradient_d and self.latent_steps > 0

    def check(self, trainer):
        if self.d_gradient_through and trainer.d_replays > 1:
            raise ValueError(
                f"{self.owner}: D replays one fake batch {trainer.d_replays} times, made once "
                "before its updates, so D's gradient cannot see through the latent step: bind "
                f"{self.owner}.stop_gradient_d = True (Wu et al. 2019, §5.2.3) or d_replays = 1")

    @staticmethod
    def score(trainer, z, labels, training=True):
        """`f(z) = D(G(z, y), y)`, the adversarial logits `[B]` the latent step increases."""
        images = trainer.generator(z, labels, training=training)
        return trainer.discriminator(images, labels, training=training)["logits"]

    def __call__(self, trainer, z, labels, step, rng):
        """`(z' [B, z_dim], R_z [B])` for the `step` ("discriminator" or "generator")."""
        if step not in STEPS:
            raise ValueError(f"{self.owner}: step must be one of {STEPS}, got {step!r}")
        stop = self.stop_gradient_d if step == "discriminator" else self.stop_gradient_g
        salt = Salt.D_LATENT_MASK if step == "discriminator" else Salt.G_LATENT_MASK
        seed = rng.seed(salt)
        mask = distribute.replica_rows(
            lambda shape: random_mask(shape, self.optimized_fraction, seed),
            [z.shape[0], z.shape[1]])
        result = optimize_latents(
            z, lambda zz: self.score(trainer, zz, labels, training=True), self.latent_step,
            num_steps=self.latent_steps, mask=mask, create_graph=not stop)
        z_new, penalty = result.z, self.latent_weight * result.step_sq_norm
        if stop:
            z_new, penalty = tf.stop_gradient(z_new), tf.stop_gradient(penalty)
        return z_new, penalty

    def sampling_transform(self, trainer, num_steps):
        """`fn(z, labels) -> z` running `num_steps` latent updates with the networks in
        inference mode, on every dimension of z (Wu et al. 2019, App. B: ~10 steps help small
        models, none help BigGAN-deep); see `GANTrainer.sampling_latent_transform`."""
        if not isinstance(num_steps, int) or num_steps < 0:
            raise ValueError(f"latent steps at sampling must be an integer >= 0, got "
                             f"{num_steps!r}")

        def transform(z, labels=None):
            labels = labels if trainer.num_classes else None
            return optimize_latents(
                z, lambda zz: self.score(trainer, zz, labels, training=False), self.latent_step,
                num_steps=num_steps, create_graph=False).z

        return transform


gin.external_configurable(LatentOptimization, module="tfgan_fast", denylist=["owner"])
