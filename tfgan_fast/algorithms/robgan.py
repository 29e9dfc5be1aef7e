"""RobGAN: PGD adversarial training of D (Liu & Hsieh 2019; Zhong 2020 thesis, Alg. 1, eq. 2.2-2.3).

Per D step (`n_disc` per iteration, 5 on CIFAR): start from `sigma ~ U(-eps, eps)`, take K PGD
ascent steps on D's real loss `sigma <- clip(sigma + tau * sign(grad), -eps, eps)`, then one D
update on `L_D^r(x_r + sigma) + L_D^f(x_f)` with RobGAN's loss; then one G step. Unlike FastGAN,
every D step pays K extra forward/backward passes and the perturbation is not kept.
"""

import tensorflow as tf

from tfgan_fast import attacks
from tfgan_fast import distribute
from tfgan_fast import losses as losses_lib
from tfgan_fast.algorithms import base


class RobGAN(base.GANTrainer):
    """PGD-adversarial GAN training.

    Args:
        pgd_steps: K, ascent steps per D step (3 on CIFAR, Zhong et al. 2020, App. B.4).
        epsilon: L-inf radius on the [-1, 1] scale (0.006 on CIFAR).
        tau: PGD step size (0.002 on CIFAR).
        loss: a composition with `d_real`, `d_fake`, `g` (default `RobGANLoss()`); the attack
            increases its `d_real` part.
        **kwargs: for `GANTrainer` (generator, discriminator, z_dim, num_classes, n_disc, seed).
    """

    def __init__(self, *args, pgd_steps=3, epsilon=0.006, tau=0.002, loss=None, **kwargs):
        super().__init__(*args, **kwargs)
        if pgd_steps < 0:
            raise ValueError(f"RobGAN.pgd_steps must be >= 0, got {pgd_steps}")
        if epsilon < 0 or tau < 0:
            raise ValueError(f"RobGAN.epsilon and RobGAN.tau must be >= 0, got "
                             f"epsilon={epsilon}, tau={tau}")
        self.pgd_steps = int(pgd_steps)
        self.epsilon = float(epsilon)
        self.tau = float(tau)
        self.loss = loss if loss is not None else losses_lib.RobGANLoss()

    def attack(self, real_images, real_labels):
        """The PGD perturbation of this D step, `[B, H, W, C]` inside the eps-ball.

        D runs in inference mode here: the attack must not advance spectral norm's power
        iteration (D has no batch norm, so nothing else differs).
        """
        seed = self.step_seed(base.SALT_ATTACK_INIT)
        start = distribute.replica_rows(
            lambda shape: attacks.uniform_delta(shape, self.epsilon, seed), real_images.shape)

        def real_loss(images):
            outputs = self.discriminator(images, real_labels, training=False)
            return self.loss.d_real(outputs, real_labels)[0]

        return attacks.pgd(real_loss, real_images, start, self.pgd_steps, self.tau,
                           self.epsilon)

    def discriminator_step(self, real_images, real_labels):
        batch = real_images.shape[0]
        sigma = self.attack(real_images, real_labels)
        fakes, fake_labels = self.sample_fakes(batch, base.SALT_D_LATENTS, base.SALT_D_LABELS)
        fakes = tf.stop_gradient(fakes)
        logs, _ = self.discriminator_update(attacks.perturb(real_images, sigma), real_labels,
                                            lambda: (fakes, fake_labels, None), self.loss)
        logs["sigma_linf"] = tf.reduce_max(tf.abs(sigma))
        return logs

    def generator_step(self, local_batch):
        return self.standard_generator_step(local_batch, self.loss.g)
