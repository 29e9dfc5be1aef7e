"""Latent transforms: the latents a training step feeds to G (`GANTrainer.latent_transform`).

- `None`: the sampled `z`.
- `LatentOptimization`: LOGAN's latent step (Wu et al. 2019, Alg. 1, eq. 4-6, 16-17): the sampled
  `z ~ U(-1, 1)` moves towards higher `f(z) = D(G(z, y), y)`, `z' = clip(z + mask * dz, -1, 1)`
  with `dz` a GD or NGD step (`tfgan_fast.latent`), and the step's loss gains
  `R_z = w_r * ||dz||^2` (eq. 17). Made inside the loss's gradient tape, D's and G's gradients
  contain the second-order terms of eq. 6 (`(d dz / d theta)^T df(z')/dz'`); the ablations of
  Wu et al. 2019, §5.2.3 stop them in the D step (`stop_gradient_d`), the G step
  (`stop_gradient_g`), or both.
"""

import gin
import tensorflow as tf

from tfgan_fast import distribute
from tfgan_fast import latent as latent_lib
from tfgan_fast.randomness import Salt

STEPS = ("discriminator", "generator")


class LatentOptimization:
    """LOGAN's latent optimisation around the D and G steps.

    Args:
        latent_step: `fn(g) -> dz`: `latent.NaturalGradientStep(alpha, beta)` (default, alpha
            0.9, beta 0.1) or `latent.GradientStep(alpha)` (CS-GAN / LOGAN (GD)).
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
            latent_lib.NaturalGradientStep(alpha=0.9, beta=0.1))
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
            lambda shape: latent_lib.random_mask(shape, self.optimized_fraction, seed),
            [z.shape[0], z.shape[1]])
        result = latent_lib.optimize_latents(
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
            return latent_lib.optimize_latents(
                z, lambda zz: self.score(trainer, zz, labels, training=False), self.latent_step,
                num_steps=num_steps, create_graph=False).z

        return transform


gin.external_configurable(LatentOptimization, module="tfgan_fast", denylist=["owner"])
