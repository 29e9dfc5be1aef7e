"""Latent samplers, and LOGAN's latent optimisation (Wu et al. 2019, Alg. 1, eq. 4, 16-17): pure
functions on tensors.

With `f(z) = D(G(z))` (the discriminator's logit, one per sample) and `g = df/dz`:

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

from tfgan_fast import precision


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
