"""Adversarial perturbations of D's real inputs, as pure functions.

Images live in [-1, 1]; perturbations are L-infinity bounded by `eps`. Every function returns a
perturbation inside the eps-ball, whatever its inputs.
"""

import tensorflow as tf

from tfgan_fast import precision


def project_linf(delta, eps):
    """Projection onto the L-inf ball of radius `eps` (elementwise clip)."""
    return tf.clip_by_value(delta, -eps, eps)


def perturb(images, delta):
    """`clip(x + delta, -1, 1)`: the adversarial input, kept a valid image."""
    return tf.clip_by_value(images + delta, -1.0, 1.0)


def free_adversarial_update(delta, grad, tau, eps):
    """One free-adversarial replay update of the persistent perturbation.

    Zhong et al. 2020, Alg. 1 line 10 / ALGORITHMS.md §1: ascent on D's loss on real data,
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
