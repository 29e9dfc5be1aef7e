"""LOGAN: latent-optimised GANs (Wu et al. 2019, Alg. 1, eq. 4-6, 16-17, §5).

In both the D and the G step the sampled `z ~ U(-1, 1)` is first moved towards higher `f(z) = D(G(z,
y), y)`: `z' = clip(z + mask * dz, -1, 1)` with `dz` from `latent.py` (NGD by default), and the
step's loss is computed at `z'` plus `R_z = w_r * ||dz||^2` (eq. 17). The latent step stays inside
the loss's gradient tape, so D's and G's gradients contain the second-order terms of eq. 6 (`(d dz /
d theta)^T df(z')/dz'`); the Wu et al. 2019, §5.2.3 ablations stop them in the D step
(`stop_gradient_d`), the G step (`stop_gradient_g`), or both.

It rides on `GANTrainer.transform_latents`, so the G step is the shared `standard_generator_step`
and another algorithm's D step that samples its fakes inside its tape composes with it.
"""

import tensorflow as tf

from tfgan_fast import distribute
from tfgan_fast import latent as latent_lib
from tfgan_fast import losses as losses_lib
from tfgan_fast.algorithms import base

# New salts of this algorithm's random streams (base.py uses 1-4 and 15).
SALT_D_MASK = 11
SALT_G_MASK = 12

STEPS = ("discriminator", "generator")


class LOGAN(base.GANTrainer):
    """Latent optimisation around the D and G steps (Wu et al. 2019, Alg. 1, alternating updates).

    Args:
        latent_step: `fn(g) -> dz`: `latent.NaturalGradientStep(alpha, beta)` (default,
            alpha 0.9, beta 0.1) or `latent.GradientStep(alpha)` (CS-GAN / LOGAN (GD)).
        latent_weight: w_r of `R_z = w_r * ||dz||^2` (eq. 17), added to both losses (0.1 SN-GAN,
            300 BigGAN-deep).
        optimised_fraction: c, the portion of z's dimensions optimised, a fixed random subset per
            sample (0.8 SN-GAN, 0.5 BigGAN-deep).
        latent_steps: latent updates per training step (1 in Wu et al. 2019).
        stop_gradient_d: Wu et al. 2019, §5.2.3 ablation: D's gradient does not see through `dz`.
        stop_gradient_g: the same for G's gradient.
        d_real_loss, d_fake_loss, g_loss: per-example functions of the adversarial logits
            (`losses.py`; hinge by default).
        loss: optional composition with `d_real`, `d_fake`, `g` methods of `(outputs, labels)`
            (e.g. `FastGANLoss`); overrides the three functions.
        latent_sampler: `z ~ U(-1, 1)` (Wu et al. 2019, §5.2.1), consistent with the clipping.
        **kwargs: for `GANTrainer` (generator, discriminator, z_dim, num_classes, n_disc, seed).
    """

    def __init__(self, *args, latent_step=None, latent_weight=0.1, optimised_fraction=0.8,
                 latent_steps=1, stop_gradient_d=False,
                 stop_gradient_g=False, d_real_loss=losses_lib.hinge_d_real,
                 d_fake_loss=losses_lib.hinge_d_fake, g_loss=losses_lib.hinge_g, loss=None,
                 latent_sampler=base.uniform_latents, **kwargs):
        super().__init__(*args, latent_sampler=latent_sampler, **kwargs)
        if latent_weight < 0:
            raise ValueError(f"LOGAN.latent_weight must be >= 0, got {latent_weight}")
        if not 0.0 <= optimised_fraction <= 1.0:
            raise ValueError(f"LOGAN.optimised_fraction must be in [0, 1], got "
                             f"{optimised_fraction}")
        if not isinstance(latent_steps, int) or latent_steps < 0:
            raise ValueError(f"LOGAN.latent_steps must be an integer >= 0, got {latent_steps!r}")
        self.latent_step = latent_step if latent_step is not None else (
            latent_lib.NaturalGradientStep(alpha=0.9, beta=0.1))
        self.latent_weight = float(latent_weight)
        self.optimised_fraction = float(optimised_fraction)
        self.latent_steps = latent_steps
        self.stop_gradient_d = bool(stop_gradient_d)
        self.stop_gradient_g = bool(stop_gradient_g)
        self.loss = loss if loss is not None else losses_lib.AdversarialLoss(
            d_real_loss, d_fake_loss, g_loss)

    # --- latents -------------------------------------------------------------------------------

    def score(self, z, labels, training=True):
        """`f(z) = D(G(z, y), y)`, the adversarial logits `[B]` the latent step increases."""
        images = self.generator(z, labels, training=training)
        return self.discriminator(images, labels, training=training)["logits"]

    def latent_mask(self, local_batch, salt):
        """This replica's rows of the step's global mask (`latent.random_mask`)."""
        seed = self.step_seed(salt)
        return distribute.replica_rows(
            lambda shape: latent_lib.random_mask(shape, self.optimised_fraction, seed),
            [local_batch, self.z_dim])

    def transform_latents(self, z, labels, step):
        """`z' = clip(z + mask * dz, -1, 1)` and `R_z = w_r * ||dz||^2` per example (eq. 17)."""
        if step not in STEPS:
            raise ValueError(f"LOGAN.transform_latents: step must be one of {STEPS}, got "
                             f"{step!r}")
        stop = self.stop_gradient_d if step == "discriminator" else self.stop_gradient_g
        salt = SALT_D_MASK if step == "discriminator" else SALT_G_MASK
        mask = self.latent_mask(z.shape[0], salt)
        result = latent_lib.optimise_latents(
            z, lambda zz: self.score(zz, labels, training=True), self.latent_step,
            num_steps=self.latent_steps, mask=mask, create_graph=not stop)
        z_new, penalty = result.z, self.latent_weight * result.step_sq_norm
        if stop:
            z_new, penalty = tf.stop_gradient(z_new), tf.stop_gradient(penalty)
        return z_new, penalty

    def sampling_latent_transform(self, num_steps):
        """`fn(z, labels) -> z` running `num_steps` latent updates with the networks in
        inference mode, on every dimension of z (Wu et al. 2019, App. B: ~10 steps help small
        models, none help BigGAN-deep). The evaluator applies it after truncation
        (`Evaluator.latent_steps`,
        `tools/evaluate.py --latent_steps`)."""
        if not isinstance(num_steps, int) or num_steps < 0:
            raise ValueError(f"latent steps at sampling must be an integer >= 0, got "
                             f"{num_steps!r}")

        def transform(z, labels=None):
            labels = labels if self.num_classes else None
            return latent_lib.optimise_latents(
                z, lambda zz: self.score(zz, labels, training=False), self.latent_step,
                num_steps=num_steps, create_graph=False).z

        return transform

    # --- steps ----------------------------------------------------------------------------------

    def discriminator_step(self, real_images, real_labels):
        def make_fakes():
            # Made inside D's tape: D's gradient reaches its own weights through the latent
            # step (eq. 6) unless stop_gradient_d.
            fakes, fake_labels, penalty = self.sample_fakes(
                real_images.shape[0], base.SALT_D_LATENTS, base.SALT_D_LABELS,
                step="discriminator", with_penalty=True)
            if self.stop_gradient_d or not self.latent_steps:
                # No path from D's weights to the fakes: skip back-propagating through G.
                fakes = tf.stop_gradient(fakes)
            return fakes, fake_labels, penalty

        logs, _ = self.discriminator_update(real_images, real_labels, make_fakes, self.loss)
        return logs

    def generator_step(self, local_batch):
        return self.standard_generator_step(local_batch, self.loss.g)
