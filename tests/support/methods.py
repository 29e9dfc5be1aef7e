"""Every method on tiny nets under a precision policy (the float16 and XLA tests): a trainer,
its fit, its weights and the largest difference of two weight lists."""

import keras
import numpy as np
import tensorflow as tf

from tests.support.tiny_nets import TinyDiscriminator, TinyGenerator
from tfgan_fast.runtime import precision
from tfgan_fast.algorithms import FARGAN, LOGAN, R3GAN, FastGAN, RobGAN, StandardGAN

B = 8
C = 3
INITIAL_SCALE = 2.0 ** 10
# Each method's gradients: D and G; FastGAN the input gradient of its perturbation; RobGAN its
# PGD gradient; FARGAN a gradient penalty; LOGAN the latent gradient and its second-order path;
# R3GAN the R1 and R2 penalties.
METHODS = {
    "sngan": (StandardGAN, {"n_disc": 2}),
    "fastgan": (FastGAN, {}),
    "robgan": (RobGAN, {"pgd_steps": 2}),
    "fargan": (FARGAN, {"num_far": 2, "far_factor": 2, "num_fake": 4}),
    "logan": (LOGAN, {}),
    "r3gan": (R3GAN, {}),
}


@tf.custom_gradient
def _inf_in_backward(x):
    """The identity, whose backward pass overflows float16 (1e5 > 65504)."""
    return tf.identity(x), lambda dy: dy * tf.cast(1e5, dy.dtype)


class OverflowingGenerator(TinyGenerator):
    """`TinyGenerator` whose float16 output gradient overflows while `overflow` is set; its
    images are float32, as the library's generators' are."""

    overflow = False

    def call(self, z, labels=None, training=None):
        images = super().call(z, labels, training)
        return tf.cast(_inf_in_backward(images) if self.overflow else images, tf.float32)


class Float32Discriminator(TinyDiscriminator):
    """`TinyDiscriminator` with float32 outputs, as the library's discriminators have."""

    def call(self, images, labels=None, training=None):
        return {k: tf.cast(v, tf.float32)
                for k, v in super().call(images, labels, training).items()}


def method_trainer(name, policy, jit_compile=False, run_eagerly=True, strategy=None):
    cls, kwargs = METHODS[name]
    classes = 0 if name == "fargan" else C
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(0)
    with precision.global_policy(policy), strategy.scope():
        trainer = cls(OverflowingGenerator(z_dim=4, num_classes=classes),
                      Float32Discriminator(classes), z_dim=4, num_classes=classes, seed=3,
                      **kwargs)
        trainer.compile(g_optimizer=keras.optimizers.SGD(0.1),
                        d_optimizer=keras.optimizers.SGD(0.1), jit_compile=jit_compile,
                        run_eagerly=run_eagerly)
        trainer.build_all(B // strategy.num_replicas_in_sync, (4, 4, 1))
        strategy.run(trainer.initialize_state)
    for scale in (trainer.d_loss_scale, trainer.g_loss_scale):
        if scale is not None:
            # Below 2^15, the default: FARGAN's penalty gradients (~14 on these nets) overflow
            # float16 at scales above ~4,000, and the dynamic scale would skip its first steps.
            scale.scale.assign(INITIAL_SCALE)
    return trainer


def fit_steps(trainer, steps):
    rng = np.random.RandomState(0)
    n = B * trainer.real_batches_per_iteration
    data = (rng.uniform(-1, 1, (n, 4, 4, 1)).astype("float32"),
            rng.randint(0, C, n).astype("int32"))
    history = trainer.fit(tf.data.Dataset.from_tensors(data).repeat(), epochs=1,
                          steps_per_epoch=steps, verbose=0, shuffle=False)
    return {k: v[-1] for k, v in history.history.items()}


def all_weights(trainer):
    return [v.numpy() for v in trainer.generator.weights + trainer.discriminator.weights]


def max_diff(a, b):
    return max(float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64))))
               for x, y in zip(a, b))
