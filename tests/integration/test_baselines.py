"""StandardGAN and RobGAN train one step on every architecture they are used with, on one device
and on 2 replicas (the hand-computed updates are in tests/unit/test_baselines.py)."""

import numpy as np
import tensorflow as tf

from tests.support import strategies
from tests.support.baselines import B, C, batch, make_trainer
from tfgan_fast.algorithms import losses
from tfgan_fast.algorithms import RobGAN, StandardGAN
from tfgan_fast.nets import ResNetDiscriminator, ResNetGenerator


class ArchitecturesTest(tf.test.TestCase):

    def test_one_step_per_algorithm_and_architecture(self):
        """StandardGAN (SNGAN projection, SNGAN(AC), SAGAN-style) and RobGAN on the CIFAR ResNet
        with spectral norm and on SAGAN-style nets (channel multipliers, self-attention, spectral
        norm in G too); every algorithm and every architecture also runs on 2 replicas."""
        mirrored = strategies.two_cpu_mirrored()
        default = tf.distribute.get_strategy()
        cases = [  # (algorithm, kwargs, head, attention, strategy)
            (StandardGAN, {"loss": losses.AdversarialLoss()}, "projection", False, default),
            (StandardGAN, {"loss": losses.AdversarialLoss(real_class_weight=1.0,
                                                          g_class_weight=1.0)}, "ac", False,
             default),
            (StandardGAN, {}, "projection", True, mirrored),
            (RobGAN, {"pgd_steps": 1}, "ac", False, mirrored),
            (RobGAN, {"pgd_steps": 1}, "ac", True, default),
        ]
        x, y = batch(B, size=16, channels=3)
        for cls, kwargs, head, attention, strategy in cases:
            if strategy is None:
                continue
            name = f"{cls.__name__}/{head}/attention={attention}/{strategy.num_replicas_in_sync}"
            layout = {}
            if attention:
                layout = dict(g=dict(channel_multipliers=(4, 2, 1), attention_resolution=8,
                                     spectral_norm=True),
                              d=dict(channel_multipliers=(1, 2, 4), attention_resolution=8))
            with strategy.scope():
                g_net = ResNetGenerator(resolution=16, channels=3, width=8, z_dim=4,
                                        num_classes=C, **layout.get("g", {}))
                d_net = ResNetDiscriminator(resolution=16, channels=3, width=8, num_classes=C,
                                            head=head, spectral_norm=True,
                                            learnable_shortcut="auto", **layout.get("d", {}))
            trainer = make_trainer(cls, strategy, g_net, d_net, image_shape=(16, 16, 3),
                                   d_lr=1e-3, g_lr=1e-3, batch_size=B, **kwargs)
            d_before = [v.numpy() for v in trainer.discriminator.trainable_variables]
            g_before = [v.numpy() for v in trainer.generator.trainable_variables]
            history = trainer.fit(tf.data.Dataset.from_tensors((x, y)).repeat(), epochs=1,
                                  steps_per_epoch=1, verbose=0).history
            self.assertTrue(np.isfinite(history["d_loss"][-1]), msg=name)
            self.assertTrue(np.isfinite(history["g_loss"][-1]), msg=name)
            self.assertEqual(int(trainer.d_optimizer.iterations.numpy()), 1, msg=name)
            self.assertEqual(int(trainer.g_optimizer.iterations.numpy()), 1, msg=name)
            d_moved = [not np.allclose(b, v.numpy()) for b, v in
                       zip(d_before, trainer.discriminator.trainable_variables)]
            # SelfAttention's gamma starts at 0, so its inner convolutions get no gradient yet.
            self.assertGreater(sum(d_moved), len(d_moved) // 2, msg=name)
            g_moved = [not np.allclose(b, v.numpy()) for b, v in
                       zip(g_before, trainer.generator.trainable_variables)]
            self.assertGreater(sum(g_moved), len(g_moved) // 2, msg=name)
            if head == "ac" and cls is StandardGAN:
                self.assertIn("d_real_class", history)
            if attention:
                self.assertTrue(any("attention" in v.path for v in trainer.generator.variables),
                                msg=name)


if __name__ == "__main__":
    tf.test.main()
