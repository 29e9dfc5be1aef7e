"""Every gin file parses; the paper rows build as the papers set them; each ablation of Table 2
(Zhong et al. 2020) is one binding (tests/integration/test_gin_configs.py builds every file)."""

import glob
import os

import gin
import tensorflow as tf

from tests.support import PAPER_DATASETS, ROOT, gin_files, paper_and_top_configs
from tests.support.runs import build
from tfgan_fast.run import config
from tfgan_fast.algorithms import FastGAN, RobGAN, StandardGAN


class GinFilesTest(tf.test.TestCase):

    def test_includes_resolve_without_error_logs(self):
        # Nested includes (fmnist/..., base/..., eval/...) resolve against gin/ first: a search
        # path after the working directory makes gin log "Path not found" for each of them.
        with self.assertNoLogs(level="ERROR"):  # gin logs through the root logger
            config.parse([os.path.join(ROOT, "gin/fmnist/small_data_diffaugment.gin")],
                         finalize=False)

    def test_there_are_configs(self):
        names = {os.path.relpath(p, os.path.join(ROOT, "gin")) for p in paper_and_top_configs()}
        self.assertContainsSubset({"quickstart.gin", "fastgan_cifar.gin", "image_folder.gin",
                                   "cifar10/fastgan.gin", "cifar100/fastgan.gin"}, names)

    def test_configs_live_in_folders_by_data_set(self):
        """gin/ holds the three recipes users start from and folders; nothing else."""
        top = {os.path.basename(p) for p in gin_files("")}
        self.assertEqual(top, {"quickstart.gin", "fastgan_cifar.gin", "image_folder.gin"})
        folders = {d for d in os.listdir(os.path.join(ROOT, "gin"))
                   if os.path.isdir(os.path.join(ROOT, "gin", d))}
        self.assertEqual(folders, {"base", "eval", "fmnist", *PAPER_DATASETS})

    def test_every_file_parses(self):
        for path in paper_and_top_configs() + gin_files("base", "eval", "fmnist"):
            with self.subTest(path=os.path.relpath(path, ROOT)):
                config.parse([path], finalize=False)

    def test_cifar_rows_match_000_table5(self):
        exp = build([os.path.join(ROOT, "gin/fastgan_cifar.gin")])
        t = exp.trainer
        self.assertEqual((t.d_replays, t.real_transform.radius, t.real_transform.tau),
                         (2, 0.006, 0.006))
        self.assertEqual((t.loss.g_class_weight, t.loss.fake_kl_weight), (1.0, 1.0))
        self.assertEqual(exp.data.num_classes, 10)
        self.assertEqual(gin.query_parameter("run.train_steps"), 240000)
        self.assertEqual(gin.query_parameter("run.batch_size"), 64)
        self.assertEqual(gin.query_parameter("run.eval_every"), 5000)
        self.assertEqual(gin.query_parameter("Evaluator.num_samples"), 5000)
        self.assertAllClose(t.d_optimizer.learning_rate, 2e-4)
        self.assertEqual(t.d_optimizer.beta_1, 0.0)
        self.assertEqual(t.d_optimizer.beta_2, 0.9)
        t.iteration.assign(80000)
        self.assertAllClose(t.g_optimizer.learning_rate, 1e-4)

        exp = build([os.path.join(ROOT, "gin/cifar100/fastgan.gin")])
        self.assertEqual(exp.trainer.loss.g_class_weight, 0.2)
        self.assertEqual(exp.data.num_classes, 100)

    def test_table2_ablations_are_one_binding_each(self):
        cifar = [os.path.join(ROOT, "gin/fastgan_cifar.gin")]
        t = build(cifar, ["FastGAN.loss = @RobGANLoss()"]).trainer
        self.assertEqual(t.loss.name, "RobGANLoss")
        t = build(cifar, ["FastGAN.radius = 0.0"]).trainer
        self.assertEqual(t.real_transform.radius, 0.0)
        self.assertAllEqual(t.real_transform.delta, tf.zeros_like(t.real_transform.delta))
        t = build(cifar, ["make_optimizer.schedule = None"]).trainer
        t.iteration.assign(160000)
        self.assertAllClose(t.d_optimizer.learning_rate, 2e-4)
        t = build(cifar, ["FastGANLoss.alpha_fc = 0.0"]).trainer
        self.assertEqual(t.loss.fake_kl_weight, 0.0)


    def test_baseline_cifar_rows(self):
        """SNGAN / SNGAN(AC) / RobGAN on CIFAR-10 (Zhong et al. 2020, Table 2 and App. B.4; Zhong
        2020 thesis, Table 5.1)."""
        exp = build([os.path.join(ROOT, "gin/cifar10/sngan.gin")])
        t = exp.trainer
        self.assertIsInstance(t, StandardGAN)
        self.assertEqual(t.n_disc, 5)
        self.assertEqual(t.loss.d_real_fn.__name__, "hinge_d_real")
        self.assertEqual((t.loss.real_class_weight, t.loss.g_class_weight), (0.0, 0.0))
        self.assertEqual((t.discriminator.head, t.discriminator.spectral_norm),
                         ("projection", True))
        self.assertEqual(gin.query_parameter("run.train_steps"), 100000)
        self.assertAllClose(t.d_optimizer.learning_rate, 2e-4)
        t.iteration.assign(50000)
        self.assertAllClose(t.g_optimizer.learning_rate, 1e-4)  # linear decay to 0 at 100k

        t = build([os.path.join(ROOT, "gin/cifar10/sngan_ac.gin")]).trainer
        self.assertEqual(t.discriminator.head, "ac")
        self.assertEqual((t.loss.real_class_weight, t.loss.g_class_weight), (1.0, 1.0))

        t = build([os.path.join(ROOT, "gin/cifar10/robgan.gin")]).trainer
        self.assertIsInstance(t, RobGAN)
        self.assertEqual((t.n_disc, t.real_transform.steps, t.real_transform.radius,
                          t.real_transform.tau), (5, 3, 0.006, 0.002))
        self.assertEqual(t.loss.name, "RobGANLoss")
        self.assertEqual(t.discriminator.spectral_norm, True)

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
        found = {os.path.basename(p)[:-4] for p in glob.glob(os.path.join(ROOT, "gin", "fmnist",
                                                                          "*.gin"))}
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


if __name__ == "__main__":
    tf.test.main()
