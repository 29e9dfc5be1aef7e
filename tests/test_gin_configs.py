"""Every gin file parses and builds its models; each 000 Table 2 ablation is one binding."""

import glob
import os

import gin
import tensorflow as tf

from tests.offline import mock_tfds
from tfgan_fast import config
from tfgan_fast import experiment
from tfgan_fast import losses
from tfgan_fast.algorithms import GANTrainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOP_LEVEL = sorted(glob.glob(os.path.join(ROOT, "gin", "*.gin")))
SMALL = ["ResNetGenerator.width = 16", "ResNetDiscriminator.width = 16"]
# LOGAN's configs (BigGAN-deep at 128 px with 1000 classes, batch 2048; SN-GAN's CNN).
SMALL += ["BigGANDeepGenerator.width = 2", "BigGANDeepDiscriminator.width = 2",
          "BigGANDeepGenerator.attention_resolution = None",
          "BigGANDeepDiscriminator.attention_resolution = None",
          "SNGANCNNGenerator.width = 16", "SNGANCNNDiscriminator.width = 4",
          "TFDSImages.resolution = 32"]


def _build(gin_files, params=()):
    config.parse(gin_files, list(params) + SMALL)
    with mock_tfds(num_examples=8):
        return experiment.run("/tmp/unused_model_dir", setup_only=True)


class GinFilesTest(tf.test.TestCase):

    def test_there_are_configs(self):
        names = {os.path.basename(p) for p in TOP_LEVEL}
        self.assertContainsSubset({"quickstart.gin", "fastgan_cifar.gin",
                                   "fastgan_cifar100.gin"}, names)

    def test_every_file_parses(self):
        for path in (TOP_LEVEL + glob.glob(os.path.join(ROOT, "gin", "base", "*.gin"))
                     + glob.glob(os.path.join(ROOT, "gin", "eval", "*.gin"))):
            with self.subTest(path=os.path.basename(path)):
                config.parse([path], finalize=False)

    def test_every_top_level_file_builds(self):
        for path in TOP_LEVEL:
            with self.subTest(path=os.path.basename(path)):
                exp = _build([path], ["run.batch_size = 4"])
                self.assertIsInstance(exp.trainer, GANTrainer)
                self.assertEqual(exp.start_step, 0)

    def test_cifar_rows_match_000_table5(self):
        exp = _build([os.path.join(ROOT, "gin/fastgan_cifar.gin")])
        t = exp.trainer
        self.assertEqual((t.free_steps, t.epsilon, t.tau), (2, 0.006, 0.006))
        self.assertEqual((t.loss.alpha_gc, t.loss.alpha_fc), (1.0, 1.0))
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

        exp = _build([os.path.join(ROOT, "gin/fastgan_cifar100.gin")])
        self.assertEqual(exp.trainer.loss.alpha_gc, 0.2)
        self.assertEqual(exp.data.num_classes, 100)

    def test_table2_ablations_are_one_binding_each(self):
        cifar = [os.path.join(ROOT, "gin/fastgan_cifar.gin")]
        t = _build(cifar, ["FastGAN.loss = @RobGANLoss()"]).trainer
        self.assertIsInstance(t.loss, losses.RobGANLoss)
        t = _build(cifar, ["FastGAN.epsilon = 0.0"]).trainer
        self.assertEqual(t.epsilon, 0.0)
        self.assertAllEqual(t.delta, tf.zeros_like(t.delta))
        t = _build(cifar, ["make_optimizer.schedule = None"]).trainer
        t.iteration.assign(160000)
        self.assertAllClose(t.d_optimizer.learning_rate, 2e-4)
        t = _build(cifar, ["FastGANLoss.alpha_fc = 0.0"]).trainer
        self.assertEqual(t.loss.alpha_fc, 0.0)


if __name__ == "__main__":
    tf.test.main()
