"""Standard GAN training: `n_disc` D steps, then one G step (SNGAN, SNGAN(AC), SAGAN).

SNGAN (Miyato & Koyama 2018): hinge loss, projection discriminator with spectral norm,
`n_disc = 5`, Adam(2e-4, 0, 0.9), linear decay to 0. SNGAN(AC): the same with an AC head and
`AdversarialLoss(alpha_dc=1, alpha_gc=1)`. SAGAN (Zhang et al. 2019): `n_disc = 1`, spectral norm
in G and D, self-attention, two time-scale learning rates (D 4e-4, G 1e-4) via the `g/` and `d/`
scopes of `make_optimizer`. See ALGORITHMS.md §2.
"""

import tensorflow as tf

from tfgan_fast import losses as losses_lib
from tfgan_fast.algorithms import base


class StandardGAN(base.GANTrainer):
    """Alternating D and G updates with a loss composition.

    Each of the `n_disc` D steps of an iteration draws its own fake batch and consumes its own
    real batch; D sees both in one call (`GANTrainer.discriminator_update`).

    Args:
        loss: a composition with `d_real`, `d_fake`, `g` (default `AdversarialLoss()`: hinge).
        **kwargs: for `GANTrainer` (generator, discriminator, z_dim, num_classes, n_disc, seed,
            latent_sampler).
    """

    def __init__(self, *args, loss=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss = loss if loss is not None else losses_lib.AdversarialLoss()

    def discriminator_step(self, real_images, real_labels):
        batch = real_images.shape[0]
        fakes, fake_labels = self.sample_fakes(batch, base.SALT_D_LATENTS, base.SALT_D_LABELS)
        fakes = tf.stop_gradient(fakes)
        logs, _ = self.discriminator_update(real_images, real_labels,
                                            lambda: (fakes, fake_labels, None), self.loss)
        return logs

    def generator_step(self, local_batch):
        return self.standard_generator_step(local_batch, self.loss.g)
