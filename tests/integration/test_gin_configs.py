"""Every shipped recipe and paper row builds (at small widths, on mocked data), and the rows
that need a build to check (Fashion-MNIST's race and FARGAN rows, the ImageNet rows) are what
their papers set."""

import os

import gin
import pytest
import tensorflow as tf

from tests.support import ROOT, gin_files, paper_and_top_configs
from tests.support.runs import build
from tfgan_fast.algorithms import FastGAN, GANTrainer, RobGAN, StandardGAN
from tfgan_fast.run import config

# Built with their own checks by test_imagenet_rows and test_biggan_rows, not built twice.
IMAGENET_ROWS = ("imagenet143/fastgan_64.gin", "imagenet143/fastgan_128.gin",
                 "imagenet143/sngan_64.gin", "imagenet143/sngan_128.gin",
                 "imagenet143/robgan_64.gin", "imagenet143/robgan_128.gin",
                 "imagenet128/fastgan_bs64.gin", "imagenet128/fastgan_bs256.gin",
                 "imagenet128/sngan_bs64.gin", "imagenet128/sagan_bs256.gin",
                 "imagenet128/logan_biggan.gin", "imagenet128/biggan.gin")  # test_biggan_rows


class GinBuildTest(tf.test.TestCase):

    @pytest.mark.slow
    def test_every_recipe_and_paper_row_builds(self):
        # image_folder.gin needs a folder of images: tests/unit/test_image_folder.py trains
        # through it.
        rows = {os.path.join(ROOT, "gin", name) for name in IMAGENET_ROWS}
        self.assertContainsSubset(rows, paper_and_top_configs())
        for path in [p for p in paper_and_top_configs()
                     if not p.endswith("image_folder.gin") and p not in rows]:
            with self.subTest(path=path):
                exp = build([path], ["run.batch_size = 4"])
                self.assertIsInstance(exp.trainer, GANTrainer)
                self.assertEqual(exp.start_step, 0)

    def test_fashion_mnist_race_rows(self):
        """gin/fmnist/*.gin: one data set, G and D body and width for every method; each its own
        head, normalisation and algorithm; TRAIN_STEPS sets the length and the schedules."""
        from tfgan_fast.algorithms import LOGAN  # pylint: disable=import-outside-toplevel
        expected = {  # file: (algorithm, D head, spectral norm in D)
            "fastgan": (FastGAN, "ac", False), "sngan": (StandardGAN, "projection", True),
            "sngan_ac": (StandardGAN, "ac", True), "robgan": (RobGAN, "ac", True),
            "fastgan_robgan_loss": (FastGAN, "ac", False),
            "fastgan_no_adversarial": (FastGAN, "ac", False),
            "fastgan_constant_lr": (FastGAN, "ac", False),
            "fastgan_no_kl": (FastGAN, "ac", False),
            "fastgan_short": (FastGAN, "ac", False),
            "logan": (LOGAN, "projection", True), "logan_base": (LOGAN, "projection", True)}
        built_elsewhere = {  # with their own checks, not built twice
            "fastgan_logan", "fargan_logan", "robgan_fastganloss", "sngan_free",  # test_compose
            "r3gan",  # test_r3gan
            "small_data", "small_data_diffaugment"}  # test_diffaugment
        found = {os.path.basename(p)[:-4] for p in gin_files("fmnist")}
        fargan = {"fargan_dcgan", "fargan_dcgan_0gp", "fargan_conventional",
                  "fargan_conventional_0gp"}  # test_fashion_mnist_fargan_rows
        self.assertEqual(found - {"common"} - fargan - built_elsewhere, set(expected))
        built = {}
        for name, (cls, head, sn) in expected.items():
            with self.subTest(name=name):
                path = os.path.join(ROOT, "gin", "fmnist", f"{name}.gin")
                config.parse([path], finalize=False)
                for key in ("ResNetGenerator.width", "ResNetDiscriminator.width"):
                    self.assertEqual(gin.query_parameter(key), 64)
                self.assertEqual(gin.query_parameter("run.batch_size"), 64)
                exp = build([path], ["TRAIN_STEPS = 300"])
                t = built[name] = exp.trainer
                self.assertIsInstance(t, cls)
                self.assertEqual((t.discriminator.head, t.discriminator.spectral_norm), (head, sn))
                self.assertEqual((exp.data.name, exp.data.num_examples), ("fashion_mnist", 60000))
                self.assertFalse(exp.data._augment)  # pylint: disable=protected-access
                self.assertEqual(exp.train_steps, 300)
                t.iteration.assign(100)
                lr = float(t.d_optimizer.learning_rate)
                if name == "fastgan_constant_lr" or cls is LOGAN:
                    self.assertAllClose(lr, 2e-4)
                elif name == "fastgan_short":
                    self.assertAllClose(lr, 1e-3 * 0.5 ** (100 / 150))  # halved twice in 300
                elif cls is FastGAN:
                    self.assertAllClose(lr, 1e-4)  # kappa = 300 / 3: halved at 100
                else:
                    self.assertAllClose(lr, 2e-4 * (1 - 100 / 300))  # linear decay to 0 at 300
        # Each ablation's part (TRAIN_STEPS sets the length and the schedules only).
        self.assertEqual(built["fastgan_robgan_loss"].loss.name, "RobGANLoss")
        self.assertEqual(built["fastgan_no_adversarial"].real_transform.radius, 0.0)
        self.assertEqual(built["fastgan_no_kl"].loss.fake_kl_weight, 0.0)
        t = built["robgan"]
        self.assertEqual((t.n_disc, t.real_transform.steps, t.real_transform.radius,
                          t.real_transform.tau), (5, 3, 0.006, 0.002))
        t = built["logan"]
        self.assertEqual((t.latent_transform.latent_steps, t.num_classes), (1, 10))
        self.assertEqual(built["logan_base"].latent_transform.latent_steps, 0)

    def test_fashion_mnist_fargan_rows(self):
        """gin/fmnist/fargan_*.gin: Tao & Wang 2020's DCGAN and conventional nets at the paper's
        settings on full Fashion-MNIST, each with its NSGAN-0GP twin (N0 = 0)."""
        from tfgan_fast.algorithms import FARGAN  # pylint: disable=import-outside-toplevel
        from tfgan_fast import nets  # pylint: disable=import-outside-toplevel
        for net, g_cls in (("dcgan", nets.DCGANGenerator),
                           ("conventional", nets.ConventionalGenerator)):
            for suffix, num_far in (("", 32), ("_0gp", 0)):
                with self.subTest(net=net, suffix=suffix):
                    path = os.path.join(ROOT, "gin", "fmnist", f"fargan_{net}{suffix}.gin")
                    exp = build([path], ["TRAIN_STEPS = 300"])
                    t = exp.trainer
                    self.assertIsInstance(t, FARGAN)
                    self.assertIsInstance(t.generator, g_cls)
                    self.assertEqual((t.batch.num_far, t.batch.far_factor, t.batch.num_fake,
                                      t.num_classes),
                                     (num_far, 8, 64, 0))
                    self.assertEqual(t.penalty.weight, 10.0)
                    self.assertEqual((exp.data.name, exp.data.num_examples),
                                     ("fashion_mnist", 60000))
                    self.assertEqual((exp.train_steps, t.z_dim), (300, 128))
                    self.assertEqual(gin.query_parameter("run.batch_size"), 64)
                    self.assertAllClose(t.d_optimizer.learning_rate, 1e-4)
                    self.assertAllClose(t.g_optimizer.rho, 0.99)

    def test_imagenet_rows(self):
        """ImageNet-143 (64/128 px) and ImageNet 128 px rows (Zhong et al. 2020, Tables 3-6)."""
        expected = {  # file: (algorithm, classes, resolution, batch, steps)
            "imagenet143/fastgan_64.gin": (FastGAN, 143, 64, 64, 120000),
            "imagenet143/fastgan_128.gin": (FastGAN, 143, 128, 64, 120000),
            "imagenet143/sngan_64.gin": (StandardGAN, 143, 64, 64, 300000),
            "imagenet143/sngan_128.gin": (StandardGAN, 143, 128, 64, 450000),
            "imagenet143/robgan_64.gin": (RobGAN, 143, 64, 64, 120000),
            "imagenet143/robgan_128.gin": (RobGAN, 143, 128, 64, 60000),
            "imagenet128/fastgan_bs64.gin": (FastGAN, 1000, 128, 64, 1200000),
            "imagenet128/fastgan_bs256.gin": (FastGAN, 1000, 128, 256, 650000),
            "imagenet128/sngan_bs64.gin": (StandardGAN, 1000, 128, 64, 850000),
            "imagenet128/sagan_bs256.gin": (StandardGAN, 1000, 128, 256, 1000000),
        }
        built = {}
        self.assertEqual(set(expected) | {"imagenet128/logan_biggan.gin",
                                          "imagenet128/biggan.gin"}, set(IMAGENET_ROWS))
        for name, (cls, classes, res, batch, steps) in expected.items():
            with self.subTest(name=name):
                exp = build([os.path.join(ROOT, "gin", name)])
                built[name] = exp.trainer
                self.assertIsInstance(exp.trainer, cls)
                self.assertEqual(exp.data.num_classes, classes)
                self.assertEqual(exp.data.image_shape, (res, res, 3))
                self.assertEqual(gin.query_parameter("run.batch_size"), batch)
                self.assertEqual(gin.query_parameter("run.train_steps"), steps)
        t = built["imagenet143/fastgan_64.gin"]
        self.assertEqual((t.real_transform.radius, t.loss.g_class_weight,
                          t.loss.fake_kl_weight), (0.03, 1.0, 1.0))
        t = built["imagenet128/fastgan_bs256.gin"]
        self.assertEqual((t.real_transform.radius, t.loss.g_class_weight,
                          t.loss.fake_kl_weight), (0.01, 0.2, 0.05))
        self.assertEqual(t.d_optimizer.beta_2, 0.99)
        t.iteration.assign(250000)
        self.assertAllClose(t.d_optimizer.learning_rate, 1e-4)
        # SAGAN: two time-scale learning rates, attention in both nets, spectral norm in G.
        t = built["imagenet128/sagan_bs256.gin"]
        self.assertEqual(t.n_disc, 1)
        self.assertAllClose(t.d_optimizer.learning_rate, 4e-4)
        self.assertAllClose(t.g_optimizer.learning_rate, 1e-4)
        self.assertEqual(t.generator.attention_resolution, 32)
        self.assertEqual(t.discriminator.attention_resolution, 32)
        self.assertTrue(t.generator.spectral_norm)

    def test_biggan_rows(self):
        """LOGAN's BigGAN-deep rows (Wu et al. 2019, ImageNet 128 px) and their plain twin."""
        from tfgan_fast.algorithms import LOGAN  # pylint: disable=import-outside-toplevel
        small = ["TFDSImages.resolution = 32", "run.batch_size = 4"]
        t = build([os.path.join(ROOT, "gin", "imagenet128", "logan_biggan.gin")], small).trainer
        self.assertIsInstance(t, LOGAN)
        lt = t.latent_transform
        self.assertEqual((lt.latent_step.alpha, lt.latent_step.beta), (0.9, 5.0))
        self.assertEqual((lt.latent_weight, lt.optimized_fraction, lt.latent_steps, t.n_disc),
                         (300.0, 0.5, 1, 2))
        self.assertEqual((t.z_dim, t.num_classes), (256, 1000))
        self.assertAllClose(t.g_optimizer.learning_rate, 5e-5)
        self.assertAllClose(t.d_optimizer.learning_rate, 2e-4)
        t = build([os.path.join(ROOT, "gin", "imagenet128", "biggan.gin")], small).trainer
        self.assertEqual(t.latent_transform.latent_steps, 0)

if __name__ == "__main__":
    tf.test.main()
