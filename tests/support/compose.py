"""One iteration of a trainer on tiny nets, and the pieces of its hand-written reference: the
method-composition, R3GAN and DiffAugment tests check each update against these."""

import keras
import numpy as np
import tensorflow as tf

from tests.support.tiny_nets import TinyDiscriminator, TinyGenerator
from tfgan_fast.algorithms import latents as latent
from tfgan_fast.runtime.randomness import Salt

B, C, Z = 8, 3, 4
D_LR, G_LR = 0.1, 0.05
FRACTION = 0.5  # of the latents that LOGAN's step optimises


def make_nets(num_classes):
    keras.utils.set_random_seed(0)
    g = TinyGenerator(z_dim=Z, num_classes=num_classes)
    d = TinyDiscriminator(num_classes=num_classes)
    labels = tf.zeros([2], tf.int32) if num_classes else None
    d(g(tf.zeros([2, Z]), labels))
    return g, d


def make_trainer(cls, num_classes=C, batch=B, **kwargs):
    g, d = make_nets(num_classes)
    trainer = cls(g, d, z_dim=Z, num_classes=num_classes, seed=3, **kwargs)
    trainer.compile(g_optimizer=keras.optimizers.SGD(G_LR),
                    d_optimizer=keras.optimizers.SGD(D_LR))
    trainer.build_all(batch, (4, 4, 1))
    trainer.initialize_state()
    return trainer


def copy_nets(trainer):
    """Reference nets holding the trainer's current weights."""
    g, d = make_nets(trainer.num_classes)
    for net, src in ((g, trainer.generator), (d, trainer.discriminator)):
        for v, w in zip(net.trainable_variables, src.trainable_variables):
            v.assign(w)
    return g, d


def make_batch(n=B, num_classes=C):
    rng = np.random.RandomState(0)
    return (rng.uniform(-1, 1, (n, 4, 4, 1)).astype("float32"),
            rng.randint(0, max(num_classes, 1), n).astype("int32"))


def fit_once(trainer, x, y):
    trainer.fit(tf.data.Dataset.from_tensors((x, y)).repeat(), epochs=1, steps_per_epoch=1,
                verbose=0)


def sgd_step(net, grads, lr):
    for v, g in zip(net.trainable_variables, grads):
        if g is not None:
            v.assign_sub(lr * tf.convert_to_tensor(g))


def step_latents(trainer, n, rng, step):
    salts = {"d": (Salt.D_LATENTS, Salt.D_LABELS, Salt.D_LATENT_MASK),
             "g": (Salt.G_LATENTS, Salt.G_LABELS, Salt.G_LATENT_MASK)}[step]
    z = trainer.sample_latents(n, salts[0], rng)
    y = trainer.sample_labels(n, salts[1], rng)
    mask = latent.random_mask([n, Z], FRACTION, rng.seed(salts[2]))
    return z, y, mask


def assert_nets(test, trainer, g_ref, d_ref, atol=1e-5):
    for got, want in zip(trainer.discriminator.trainable_variables, d_ref.trainable_variables):
        test.assertAllClose(got, want, atol=atol, msg=got.path)
    if g_ref is not None:
        for got, want in zip(trainer.generator.trainable_variables, g_ref.trainable_variables):
            test.assertAllClose(got, want, atol=atol, msg=got.path)
