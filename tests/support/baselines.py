"""Tiny StandardGAN / RobGAN trainers and batches shared by the baselines' unit and integration
tests: 3 classes, z of 4, SGD, seeded so that every trainer starts from the same weights."""

import keras
import numpy as np
import tensorflow as tf

from tests.support.tiny_nets import TinyDiscriminator, TinyGenerator

B, C = 8, 3


def batch(n=B, seed=0, size=4, channels=1):
    """`(images [n, size, size, channels] in [-1, 1], labels [n] in 0..C-1)`, seeded."""
    rng = np.random.RandomState(seed)
    return (rng.uniform(-1, 1, (n, size, size, channels)).astype("float32"),
            rng.randint(0, C, n).astype("int32"))


def make_trainer(cls, strategy=None, g_net=None, d_net=None, image_shape=(4, 4, 1), d_lr=0.1,
                 g_lr=0.05, batch_size=B, **kwargs):
    """A built `cls` trainer (tiny nets unless given) under `strategy`, SGD at the given rates."""
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(0)
    with strategy.scope():
        trainer = cls(g_net or TinyGenerator(num_classes=C), d_net or TinyDiscriminator(C),
                      z_dim=4, num_classes=C, seed=3, **kwargs)
        trainer.compile(g_optimizer=keras.optimizers.SGD(g_lr),
                        d_optimizer=keras.optimizers.SGD(d_lr))
        trainer.build_all(batch_size // strategy.num_replicas_in_sync, image_shape)
        strategy.run(trainer.initialize_state)
    return trainer
