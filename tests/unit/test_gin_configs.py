"""Every gin file parses; the paper rows build as the papers set them; each ablation of Table 2
(Zhong et al. 2020) is one binding (tests/integration/test_gin_configs.py builds every file)."""

import os

import gin
import tensorflow as tf

from tests.support import PAPER_DATASETS, ROOT, gin_files, paper_and_top_configs
from tests.support.runs import build
from tfgan_fast.run import config
from tfgan_fast.algorithms import RobGAN, StandardGAN


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


if __name__ == "__main__":
    tf.test.main()
