"""FastGAN: free adversarial training of D (Zhong et al. 2020, Alg. 1; Zhong 2020 thesis, Alg. 2).

Per iteration: one fake batch `x_f = G(z, y_f)` (no G gradient), then M replays on the same real
and fake batches; each replay does ONE backward pass that gives both D's weight gradient and the
gradient w.r.t. the perturbed reals, takes one D optimiser step on `L_D^r + L_D^f`, and moves the
persistent perturbation `delta <- clip(delta + tau * sign(g_x), -eps, eps)`. Then one G step.
`delta` persists across iterations, one per replica, and is saved in checkpoints.
"""

import tensorflow as tf

from tfgan_fast import attacks
from tfgan_fast import distribute
from tfgan_fast import losses as losses_lib
from tfgan_fast.algorithms import base


class FastGAN(base.GANTrainer):
    """Free adversarial GAN training with the improved loss.

    Args:
        free_steps: M, replays per D step (2 in Zhong et al. 2020, App. B.1).
        epsilon: radius `eps` = c_max of the L-inf ball in [-1, 1] pixel units (0.006 CIFAR, 0.03
            ImageNet-143, 0.01 ImageNet). 0 disables adversarial training (Zhong et al. 2020, Table
            2 ablation) while keeping the M replays.
        tau: replay step size; defaults to `epsilon` (Zhong et al. 2020, Alg. 1 line 10 uses c_max).
        loss: a loss composition with `d_real`, `d_fake`, `g` (`FastGANLoss` or `RobGANLoss`).
        **kwargs: for `GANTrainer` (generator, discriminator, z_dim, num_classes, n_disc, seed).
    """

    def __init__(self, *args, free_steps=2, epsilon=0.006, tau=None, loss=None, **kwargs):
        super().__init__(*args, **kwargs)
        if free_steps < 1:
            raise ValueError(f"FastGAN.free_steps must be >= 1, got {free_steps}")
        if epsilon < 0:
            raise ValueError(f"FastGAN.epsilon must be >= 0, got {epsilon}")
        self.free_steps = int(free_steps)
        self.epsilon = float(epsilon)
        self.tau = float(epsilon if tau is None else tau)
        self.loss = loss if loss is not None else losses_lib.FastGANLoss()
        self.delta = None

    def build_state(self, per_replica_batch_size, image_shape):
        # One perturbation per replica (ON_READ: each replica reads and writes its own copy;
        # checkpoints hold every replica's rows, see `distribute.ReplicaState`).
        self.delta = tf.Variable(
            tf.zeros((per_replica_batch_size,) + tuple(image_shape)), trainable=False,
            name="delta", synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def initialize_state(self):
        self.delta.assign(distribute.replica_rows(
            lambda shape: attacks.initial_delta(shape, self.epsilon,
                                                seed=[self.seed, base.SALT_STATE_INIT]),
            self.delta.shape))

    def state_variables(self):
        return [self.delta]

    def checkpoint_items(self):
        items = super().checkpoint_items()
        items["delta"] = distribute.ReplicaState(self.delta, self.distribute_strategy, "delta")
        return items

    def discriminator_step(self, real_images, real_labels):
        batch = real_images.shape[0]
        if self.delta is not None and self.delta.shape[0] != batch:
            raise ValueError(f"FastGAN's perturbation was built for a per-replica batch of "
                             f"{self.delta.shape[0]}, got real images of shape {real_images.shape}")
        fakes, fake_labels = self.sample_fakes(batch, base.SALT_D_LATENTS, base.SALT_D_LABELS)
        fakes = tf.stop_gradient(fakes)
        for _ in range(self.free_steps):
            # One backward pass gives D's weight gradient and g_x = dL_D^r / dx_adv.
            logs, grad_x = self.discriminator_update(
                attacks.perturb(real_images, self.delta), real_labels,
                lambda: (fakes, fake_labels, None), self.loss,
                input_gradient=self.epsilon > 0)
            if self.epsilon > 0:
                self.delta.assign(attacks.free_adversarial_update(
                    self.delta, grad_x, self.tau, self.epsilon))
        flat = tf.reshape(self.delta, [batch, -1])
        logs["delta_l2"] = tf.reduce_mean(tf.norm(flat, axis=1))
        logs["delta_linf"] = tf.reduce_max(tf.abs(flat))
        return logs

    def generator_step(self, local_batch):
        return self.standard_generator_step(local_batch, self.loss.g)
