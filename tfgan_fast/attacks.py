"""Adversarial perturbations of D's real inputs, as pure functions.

Images live in [-1, 1]; perturbations are L-infinity bounded by `eps`. Every function returns a
perturbation inside the eps-ball, whatever its inputs.
"""

import tensorflow as tf


def project_linf(delta, eps):
    """Projection onto the L-inf ball of radius `eps` (elementwise clip)."""
    return tf.clip_by_value(delta, -eps, eps)


def perturb(images, delta):
    """`clip(x + delta, -1, 1)`: the adversarial input, kept a valid image."""
    return tf.clip_by_value(images + delta, -1.0, 1.0)


def free_adversarial_update(delta, grad, tau, eps):
    """One free-adversarial replay update of the persistent perturbation.

    000 Alg. 1 line 10 / ALGORITHMS.md §1: ascent on D's loss on real data,
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
    """The authors' initialisation: `clip(N(0, 1), -eps, eps)`, stateless under `seed` (`[2]` int)."""
    return project_linf(tf.random.stateless_normal(shape, seed=seed, dtype=dtype), eps)
