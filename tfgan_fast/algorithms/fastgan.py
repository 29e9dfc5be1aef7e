"""FastGAN: free adversarial training of the discriminator (000 §3.2 Alg. 1; 002 Alg. 2).

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
        free_steps: M, replays per D step (2 in 000 App. B.1).
        epsilon: radius `eps` = c_max of the L-inf ball in [-1, 1] pixel units (0.006 CIFAR,
            0.03 ImageNet-143, 0.01 ImageNet). 0 disables adversarial training (000 Table 2
            ablation) while keeping the M replays.
        tau: replay step size; defaults to `epsilon` (000 Alg. 1 line 10 uses c_max).
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
        # a checkpoint stores replica 0's, which is inside the eps-ball like every replica's).
        self.delta = tf.Variable(
            tf.zeros((per_replica_batch_size,) + tuple(image_shape)), trainable=False,
            name="delta", synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def initialize_state(self):
        shape = self.delta.shape
        global_shape = [shape[0] * distribute.num_replicas()] + list(shape[1:])
        init = attacks.initial_delta(global_shape, self.epsilon,
                                     seed=[self.seed, base.SALT_STATE_INIT])
        self.delta.assign(distribute.replica_slice(init))

    def state_variables(self):
        return [self.delta]

    def checkpoint_items(self):
        items = super().checkpoint_items()
        items["delta"] = self.delta
        return items

    def discriminator_step(self, real_images, real_labels):
        batch = real_images.shape[0]
        if self.delta is not None and self.delta.shape[0] != batch:
            raise ValueError(f"FastGAN's perturbation was built for a per-replica batch of "
                             f"{self.delta.shape[0]}, got real images of shape {real_images.shape}")
        fakes, fake_labels = self.sample_fakes(batch, base.SALT_D_LATENTS, base.SALT_D_LABELS)
        fakes = tf.stop_gradient(fakes)
        labels = None
        if self.num_classes:
            labels = tf.concat([tf.cast(real_labels, tf.int32), fake_labels], axis=0)
        logs = {}
        for _ in range(self.free_steps):
            adv_images = attacks.perturb(real_images, self.delta)
            with tf.GradientTape() as tape:
                tape.watch(adv_images)
                # D has no batch coupling, so one call on reals and fakes together is exactly
                # two calls, and faster.
                outputs = self.discriminator(
                    tf.concat([adv_images, fakes], axis=0), labels, training=True)
                real_out = {k: v[:batch] for k, v in outputs.items()}
                fake_out = {k: v[batch:] for k, v in outputs.items()}
                real_loss, real_parts = self.loss.d_real(real_out, real_labels)
                fake_loss, fake_parts = self.loss.d_fake(fake_out, fake_labels)
                loss = distribute.replica_loss(real_loss) + distribute.replica_loss(fake_loss)
            variables = self.discriminator.trainable_variables
            grads = tape.gradient(loss, variables + [adv_images])
            self.d_optimizer.apply_gradients(zip(grads[:-1], variables))
            # L_D^f does not depend on the reals, so this is dL_D^r / dx_adv.
            if self.epsilon > 0:
                self.delta.assign(attacks.free_adversarial_update(
                    self.delta, grads[-1], self.tau, self.epsilon))
        logs["d_loss"] = tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss)
        logs["d_loss_real"] = tf.reduce_mean(real_loss)
        logs["d_loss_fake"] = tf.reduce_mean(fake_loss)
        logs.update({k: tf.reduce_mean(v) for k, v in {**real_parts, **fake_parts}.items()})
        logs["d_real_acc"] = tf.reduce_mean(tf.cast(real_out["logits"] > 0, tf.float32))
        logs["d_fake_acc"] = tf.reduce_mean(tf.cast(fake_out["logits"] < 0, tf.float32))
        if "class_logits" in real_out and real_labels is not None:
            pred = tf.argmax(real_out["class_logits"], axis=-1, output_type=tf.int32)
            logs["class_acc_real"] = tf.reduce_mean(
                tf.cast(tf.equal(pred, tf.cast(real_labels, tf.int32)), tf.float32))
        flat = tf.reshape(self.delta, [batch, -1])
        logs["delta_l2"] = tf.reduce_mean(tf.norm(flat, axis=1))
        logs["delta_linf"] = tf.reduce_max(tf.abs(flat))
        return logs

    def generator_step(self, local_batch):
        return self.standard_generator_step(local_batch, self.loss.g)
