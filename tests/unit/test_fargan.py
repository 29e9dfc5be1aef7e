"""FARGAN (Tao & Wang 2020, Alg. 1, eq. 10-11): selection, penalties, D loss, one step per net."""

import keras
import numpy as np
import tensorflow as tf

from tests.support import ROOT, strategies
from tfgan_fast.algorithms import losses
from tfgan_fast import nets
from tfgan_fast.algorithms import penalties
from tfgan_fast.algorithms import FARGAN
from tfgan_fast.algorithms import batches
from tfgan_fast.algorithms.base import FakeBatch


class LinearD(keras.Model):
    """`D0(x) = <w, flatten(x)> + b`: its input gradient is `w` everywhere."""

    def __init__(self, w, b=0.5, **kwargs):
        super().__init__(**kwargs)
        w = np.asarray(w, np.float32)
        self.w = self.add_weight(shape=w.shape, initializer=keras.initializers.Constant(w))
        self.b = self.add_weight(shape=(), initializer=keras.initializers.Constant(b))

    def call(self, x, labels=None, training=None):
        flat = tf.reshape(x, [tf.shape(x)[0], -1])
        return {"logits": tf.linalg.matvec(flat, self.w) + self.b}


def _trainer(g, d, z_dim=2, **kwargs):
    t = FARGAN(g, d, z_dim=z_dim, num_classes=0, seed=3, **kwargs)
    t.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    return t


class SelectionTest(tf.test.TestCase):

    def test_picks_exactly_the_lowest_scores(self):
        candidates = tf.reshape(tf.range(8, dtype=tf.float32), [8, 1])
        scores = tf.constant([3.0, -1.0, 5.0, -7.0, 0.0, 2.0, -2.0, 9.0])
        selected, idx = batches.select_fake_as_real(candidates, scores, 3)
        self.assertAllEqual(idx, [3, 6, 1])
        self.assertAllEqual(selected[:, 0], [3.0, 6.0, 1.0])

    def test_zero_and_too_many(self):
        selected, idx = batches.select_fake_as_real(tf.ones([4, 2]), tf.zeros([4]), 0)
        self.assertEqual(selected.shape, (0, 2))
        self.assertEqual(idx.shape, (0,))
        with self.assertRaisesRegex(ValueError, "N0=5 .* 4 candidates"):
            batches.select_fake_as_real(tf.ones([4, 2]), tf.zeros([4]), 5)

    def test_trainer_selects_lowest_d_output(self):
        d = LinearD([1.0, -2.0])
        t = _trainer(nets.MLPGenerator(width=4, depth=1), d)
        reals = tf.zeros([3, 2])
        candidates = tf.random.stateless_normal([12, 2], seed=[1, 2])
        del reals
        selected, labels, logs = t.batch.select(t, candidates, None, 4)
        scores = candidates.numpy() @ np.array([1.0, -2.0]) + 0.5
        lowest = candidates.numpy()[np.argsort(scores)[:4]]
        self.assertIsNone(labels)
        self.assertAllClose(selected, lowest)
        self.assertAllClose(logs["d_candidate_logit"], scores.mean(), atol=1e-5)

    def test_f1_degenerates_to_a_random_pick(self):
        # f = 1: the N0 candidates are all taken, whatever D says: the fakes counted as real are the
        # N0 random fakes themselves (Tao & Wang 2020, §6.2 "when f=1, we select fake samples
        # randomly").
        t = _trainer(nets.MLPGenerator(width=4, depth=1), LinearD([3.0, 1.0]), far_factor=1)
        candidates = tf.random.stateless_normal([5, 2], seed=[4, 5])
        selected, _, _ = t.batch.select(t, candidates, None, 5)
        got = sorted(map(tuple, np.round(selected.numpy(), 5)))
        self.assertEqual(got, sorted(map(tuple, np.round(candidates.numpy(), 5))))


def _d_fn(logit_fn):
    """A penalty's `d_fn(x, labels)` from a logit function of x."""
    return lambda x, labels: {"logits": logit_fn(x)}


def _d_update(t, positives, n1, fakes):
    """One D update on `n1` reals and the rest of `positives` counted as real; its logs."""
    batch = FakeBatch(fakes, None, None, positives[n1:] if positives.shape[0] > n1 else None,
                      None, {})
    logs, _ = t.discriminator_update(positives[:n1], None, batch, t.step_random())
    return logs


class PenaltyTest(tf.test.TestCase):

    def test_linear_d_penalty_is_k_w_squared(self):
        w = tf.Variable([0.5, -2.0, 1.5])
        fn = lambda x: tf.linalg.matvec(x, w) + 1.0  # noqa: E731
        x = tf.random.stateless_normal([4, 3], seed=[0, 1])
        with tf.GradientTape() as tape:
            pen, logits = penalties.zero_centered_penalty(fn, x, weight=10.0)
            total = tf.reduce_mean(pen)
        self.assertAllClose(pen, [10.0 * 6.5] * 4)
        self.assertAllClose(logits, x.numpy() @ w.numpy() + 1.0)
        # Differentiable w.r.t. D's weights (double backward): d(k ||w||^2)/dw = 2 k w.
        self.assertAllClose(tape.gradient(total, w), 20.0 * w.numpy())

    def test_penalty_on_the_sigmoid_output(self):
        # output="probability": ||grad sigmoid(D0)||^2 = sigmoid'(D0)^2 ||w||^2 for a linear D0.
        w = tf.Variable([0.5, -2.0, 1.5])
        fn = lambda x: tf.linalg.matvec(x, w) + 1.0  # noqa: E731
        x = tf.random.stateless_normal([4, 3], seed=[0, 1])
        logits = x.numpy() @ w.numpy() + 1.0
        sig = 1.0 / (1.0 + np.exp(-logits))
        want = 10.0 * (sig * (1.0 - sig)) ** 2 * 6.5
        pen, got = penalties.SamplePenalty(10.0, output="probability")(
            _d_fn(fn), x, None, None, None, None)
        self.assertAllClose(pen, want, rtol=1e-5)
        self.assertAllClose(got["logits"], logits)
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(penalties.gradient_penalty(fn, x, 10.0, 0.0, "probability")[0])
        # d/dw of 10 s'(l)^2 ||w||^2 with l = x.w + 1: 10 [2 s' s'' x ||w||^2 + s'^2 2 w].
        d1 = sig * (1.0 - sig)
        d2 = d1 * (1.0 - 2.0 * sig)
        grad = (10.0 * (2.0 * d1 * d2 * 6.5)[:, None] * x.numpy()
                + 10.0 * (d1 ** 2)[:, None] * 2.0 * w.numpy()).sum(0)
        self.assertAllClose(tape.gradient(total, w), grad, rtol=1e-4)
        with self.assertRaisesRegex(ValueError, "SamplePenalty.output must be one of"):
            penalties.SamplePenalty(output="prob")

    def test_image_inputs_and_sample_penalty(self):
        d = LinearD(np.arange(8, dtype=np.float32) - 3.0)
        x = tf.random.stateless_uniform([3, 2, 2, 2], seed=[2, 3])
        pen, _ = penalties.SamplePenalty(weight=10.0)(
            lambda v, y: d(v), x, None, None, None, None)
        self.assertAllClose(pen, [10.0 * np.sum((np.arange(8) - 3.0) ** 2)] * 3)
        pen0, _ = penalties.SamplePenalty(weight=0.0)(
            lambda v, y: d(v), x, None, None, None, None)
        self.assertAllEqual(pen0, tf.zeros([3]))

    def test_interpolation_penalty(self):
        d = LinearD([3.0, 4.0])
        fn = lambda v, y: d(v)  # noqa: E731
        reals = tf.random.stateless_normal([6, 2], seed=[0, 2])
        fakes = tf.random.stateless_normal([4, 2], seed=[0, 3])
        pen, out = penalties.InterpolationPenalty(weight=10.0)(fn, reals, None, fakes, None,
                                                               [1, 2])
        self.assertAllClose(pen, [250.0] * 4)  # pairs = min(N, M)
        self.assertEqual(out["logits"].shape, (6,))
        pen, _ = penalties.InterpolationPenalty(weight=2.0, center=1.0)(fn, reals, None, fakes,
                                                                        None, [1, 2])
        self.assertAllClose(pen, [2.0 * 16.0] * 4)  # WGAN-GP: k (||w|| - 1)^2

    def test_interpolates_are_uniform_on_the_segment(self):
        x = tf.zeros([4000, 1])
        y = tf.ones([4000, 1])
        t = 1.0 - penalties.uniform_interpolates(x, y, seed=[7, 7]).numpy()[:, 0]
        self.assertGreaterEqual(t.min(), 0.0)
        self.assertLessEqual(t.max(), 1.0)  # a normal t would leave [0, 1]
        self.assertAllClose([t.mean(), t.var()], [0.5, 1.0 / 12.0], atol=0.02)
        # Two-D: the point lies on the segment between its real and its fake.
        r = tf.constant([[0.0, 0.0], [2.0, 2.0]])
        f = tf.constant([[1.0, 2.0], [4.0, 0.0]])
        p = penalties.uniform_interpolates(r, f, seed=[1, 1]).numpy()
        ratio = (p - f.numpy()) / (r.numpy() - f.numpy())
        self.assertAllClose(ratio[:, 0], ratio[:, 1])


class DiscriminatorLossTest(tf.test.TestCase):

    def test_eq11_by_hand(self):
        w = np.array([0.5, -1.0], np.float32)
        t = _trainer(nets.MLPGenerator(width=4, depth=1), LinearD(w, b=0.25))
        positives = tf.constant([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])  # 2 reals + 1 FAR
        fakes = tf.constant([[-1.0, 1.0], [0.5, 0.5]])
        logs = _d_update(t, positives, 2, fakes)
        pos = positives.numpy() @ w + 0.25
        neg = fakes.numpy() @ w + 0.25
        softplus = lambda v: np.log1p(np.exp(v))  # noqa: E731
        sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
        expected = softplus(-pos).mean() + softplus(neg).mean()
        self.assertAllClose(logs["d_loss"], expected, rtol=1e-5)
        self.assertAllClose(logs["d_penalty"], 10.0 * np.sum(w ** 2), rtol=1e-5)
        # The SGD(0.1) step on eq. 11: its gradient in w and b, by hand (the penalty's is 20 w).
        grad_w = ((-sigmoid(-pos))[:, None] * positives.numpy()).mean(0) + (
            sigmoid(neg)[:, None] * fakes.numpy()).mean(0) + 20.0 * w
        grad_b = (-sigmoid(-pos)).mean() + sigmoid(neg).mean()
        self.assertAllClose(t.discriminator.w.numpy(), w - 0.1 * grad_w, rtol=1e-5)
        self.assertAllClose(t.discriminator.b.numpy(), 0.25 - 0.1 * grad_b, rtol=1e-5)
        self.assertAllClose(logs["d_far_logit"], pos[2])
        self.assertAllClose(logs["d_real_logit"], pos[:2].mean())

    def test_loss_family_by_binding(self):
        hinge = losses.AdversarialLoss(losses.hinge_d_real, losses.hinge_d_fake, losses.hinge_g)
        t = _trainer(nets.MLPGenerator(width=4, depth=1), LinearD([1.0, 0.0], b=0.0),
                     loss=hinge, penalty=penalties.SamplePenalty(0.0))
        logs = _d_update(t, tf.constant([[0.5, 0.0], [2.0, 0.0]]), 2,
                         tf.constant([[-3.0, 0.0], [0.0, 0.0]]))
        # mean(relu(1 - [0.5, 2])) + mean(relu(1 + [-3, 0])) = 0.25 + 0.5
        self.assertAllClose(logs["d_loss"], 0.75)
        default = _trainer(nets.MLPGenerator(width=4, depth=1), LinearD([1.0, 0.0], b=0.0)).loss
        per, _ = default.g(
            {"logits": tf.constant([-5.0, 1.4, 12.5, 2.7])}, None)
        self.assertAllClose(per, np.log1p(np.exp(-np.array([-5.0, 1.4, 12.5, 2.7]))))

    def test_bad_settings_are_named(self):
        g = nets.MLPGenerator(width=4, depth=1)
        with self.assertRaisesRegex(ValueError, "unconditional"):
            FARGAN(g, LinearD([1.0, 0.0]), z_dim=2, num_classes=10)
        with self.assertRaisesRegex(ValueError, "far_factor"):
            _trainer(g, LinearD([1.0, 0.0]), far_factor=0)
        t = _trainer(g, LinearD([1.0, 0.0]), num_far=8)
        with self.assertRaisesRegex(ValueError, "N0=8 must be < .* N=run.batch_size=8"):
            t.batch.sizes(8)
        self.assertEqual(_trainer(g, LinearD([1.0, 0.0]), num_far=2, num_fake=6).batch.sizes(8),
                         (6, 2, 6, 16))


def _one_step(trainer, real, strategy=None):
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        trainer.build_all(real.shape[0] // strategy.num_replicas_in_sync, real.shape[1:])
    before_d = [v.numpy().copy() for v in trainer.discriminator.trainable_variables]
    before_g = [v.numpy().copy() for v in trainer.generator.trainable_variables]
    ds = tf.data.Dataset.from_tensors((real, tf.zeros([real.shape[0]], tf.int32))).repeat()
    dist = iter(strategy.experimental_distribute_dataset(ds))
    def step(batch):
        return strategy.run(trainer.train_step, args=(batch,))

    if strategy.num_replicas_in_sync > 1:  # eager is faster for one device (no double-grad trace)
        step = tf.function(step)
    logs = step(next(dist))
    logs = {k: strategy.reduce("MEAN", v, axis=None) for k, v in logs.items()}
    return logs, before_d, before_g


class OneStepPerArchitectureTest(tf.test.TestCase):

    def _check(self, g, d, real, z_dim, **kwargs):
        t = _trainer(g, d, z_dim=z_dim, num_far=2, far_factor=2, num_fake=4, **kwargs)
        logs, before_d, before_g = _one_step(t, real)
        for k, v in logs.items():
            self.assertTrue(np.isfinite(v.numpy()), k)
        self.assertGreater(float(logs["d_penalty"]), 0.0)
        for b, v in zip(before_d, t.discriminator.trainable_variables):
            self.assertNotAllClose(b, v.numpy(), msg=v.name)
        self.assertTrue(any(not np.allclose(b, v.numpy())
                            for b, v in zip(before_g, t.generator.trainable_variables)))
        self.assertEqual(int(t.iteration.numpy()), 1)
        out = t.generate(tf.zeros([3, z_dim]))
        self.assertEqual(out.shape, (3,) + tuple(real.shape[1:]))

    def test_mlp_points(self):
        real = tf.random.stateless_normal([4, 2], seed=[1, 1])
        self._check(nets.MLPGenerator(width=8), nets.MLPDiscriminator(width=8), real, 2)

    def test_dcgan(self):
        real = tf.random.stateless_uniform([4, 8, 8, 3], seed=[1, 1], minval=-1, maxval=1)
        self._check(nets.DCGANGenerator(resolution=8, width=4, z_dim=8),
                    nets.DCGANDiscriminator(resolution=8, width=4), real, 8)

    def test_conventional(self):
        real = tf.random.stateless_uniform([4, 8, 8, 1], seed=[1, 1], minval=-1, maxval=1)
        self._check(nets.ConventionalGenerator(resolution=8, channels=1, width=2, z_dim=8),
                    nets.ConventionalDiscriminator(resolution=8, channels=1, width=2), real, 8)

    def test_resnet_cifar_structure(self):
        real = tf.random.stateless_uniform([4, 16, 16, 3], seed=[1, 1], minval=-1, maxval=1)
        self._check(nets.FARGANResNetGenerator(resolution=16, width=2, z_dim=8,
                                               stage_mults=(4, 2, 1)),
                    nets.FARGANResNetDiscriminator(resolution=16, width=2, stage_mults=(2, 4)),
                    real, 8)

    def test_resnet_imagenet_structure(self):
        real = tf.random.stateless_uniform([4, 16, 16, 3], seed=[1, 1], minval=-1, maxval=1)
        self._check(nets.FARGANResNetGenerator(resolution=16, width=2, z_dim=8, fc_mult=4,
                                               stage_mults=(4, 2, 1), blocks_per_stage=2),
                    nets.FARGANResNetDiscriminator(resolution=16, width=2, stage_mults=(2, 4, 4),
                                                   blocks_per_stage=2), real, 8)


class NetworkShapeTest(tf.test.TestCase):

    def test_paper_sizes(self):
        # Tao & Wang 2020, tables 7-8 / 11-12: the maps entering D's dense layer are 4x4 with 8w /
        # 16w channels; G's dense layer makes 4x4 maps of 8w / 16w channels.
        d = nets.FARGANResNetDiscriminator(width=64)
        d(tf.zeros([1, 32, 32, 3]))
        self.assertEqual(d.fc.kernel.shape, (512 * 4 * 4, 1))
        g = nets.FARGANResNetGenerator(width=64)
        self.assertEqual(g(tf.zeros([1, 128])).shape, (1, 32, 32, 3))
        self.assertEqual(g.fc.kernel.shape, (128, 512 * 4 * 4))
        self.assertEqual([getattr(g, n).filters for n in g._layer_names], [256, 128, 64, 64])
        d = nets.DCGANDiscriminator(width=64)
        d(tf.zeros([1, 32, 32, 3]))
        self.assertEqual(d.fc.kernel.shape, (256 * 4 * 4, 1))
        d = nets.ConventionalDiscriminator(width=64)
        d(tf.zeros([1, 32, 32, 3]))
        self.assertEqual(d.fc.kernel.shape, (512 * 4 * 4, 1))
        g = nets.MLPGenerator()
        g(tf.zeros([1, 2]))
        shapes = [getattr(g, n).kernel.shape for n in g._hidden_names] + [g.out.kernel.shape]
        self.assertEqual(shapes, [(2, 64), (64, 64), (64, 64), (64, 2)])

    def test_config_round_trip_and_errors(self):
        for net in (nets.MLPGenerator(width=4), nets.DCGANDiscriminator(resolution=16, width=2),
                    nets.FARGANResNetGenerator(resolution=16, width=2, stage_mults=(2, 1, 1)),
                    nets.FARGANResBlock(4, 2)):
            config = net.get_config()
            clone = type(net).from_config(config)
            self.assertEqual(clone.get_config(), config)
        with self.assertRaisesRegex(ValueError, "num_classes=10"):
            nets.DCGANGenerator(num_classes=10)
        with self.assertRaisesRegex(ValueError, "resolution must be 4 \\* 2\\^n"):
            nets.ConventionalGenerator(resolution=24)
        with self.assertRaisesRegex(ValueError, "give 32 px, but resolution=64"):
            nets.FARGANResNetGenerator(resolution=64)


class DistributedTest(tf.test.TestCase):

    def test_0gp_two_replicas_equal_one_device(self):
        strategy = strategies.two_cpu_mirrored()
        if strategy is None:
            self.skipTest("needs two logical CPUs")
        real = tf.random.stateless_normal([4, 2], seed=[5, 5])

        def build():
            keras.utils.set_random_seed(1)
            return (nets.MLPGenerator(width=8, depth=2), nets.MLPDiscriminator(width=8, depth=2))

        g, d = build()
        one = _trainer(g, d, num_far=0, num_fake=4)
        logs1, _, _ = _one_step(one, real)
        with strategy.scope():
            g, d = build()
            two = _trainer(g, d, num_far=0, num_fake=4)
        logs2, _, _ = _one_step(two, real, strategy)
        for a, b in zip(one.discriminator.trainable_variables,
                        two.discriminator.trainable_variables):
            self.assertAllClose(a, b.values[0] if hasattr(b, "values") else b, atol=1e-5)
        self.assertAllClose(logs1["d_loss"], logs2["d_loss"], atol=1e-5)

        with strategy.scope():
            g, d = build()
            far = _trainer(g, d, num_far=2, far_factor=2, num_fake=4)
        logs, _, _ = _one_step(far, real, strategy)
        self.assertTrue(np.isfinite(logs["d_loss"].numpy()))
        with strategy.scope():
            g, d = build()
            odd = _trainer(g, d, num_far=1, num_fake=4)
        with self.assertRaisesRegex(ValueError, "num_far \\(N0\\)=1 must be divisible"):
            _one_step(odd, real, strategy)


class GinTest(tf.test.TestCase):
    """Tao & Wang 2020's settings are what the gin files build; each variant is one binding."""

    def _build(self, name, params=()):
        import os  # pylint: disable=import-outside-toplevel

        from tests.support.offline import mock_tfds  # pylint: disable=import-outside-toplevel
        from tests.support.runs import SMALL  # pylint: disable=import-outside-toplevel
        from tfgan_fast.run import config, experiment  # pylint: disable=import-outside-toplevel
        config.parse([os.path.join(ROOT, "gin", name)], list(params) + SMALL)
        with mock_tfds(num_examples=8):
            return experiment.run("/tmp/unused_fargan_dir", setup_only=True)

    def test_cifar_resnet_settings(self):
        exp = self._build("cifar10/fargan_resnet.gin")
        t = exp.trainer
        self.assertIsInstance(t, FARGAN)
        self.assertEqual((t.batch.num_far, t.batch.far_factor, t.batch.num_fake,
                          t.penalty.weight), (32, 8, 64, 10.0))
        self.assertEqual((t.num_classes, exp.data.num_classes), (0, 10))
        self.assertEqual(t.loss.g_fn.__name__, "nonsaturating_g")  # gin wraps the function
        self.assertIsInstance(t.d_optimizer, keras.optimizers.RMSprop)
        self.assertAllClose([t.d_optimizer.learning_rate, t.d_optimizer.rho], [1e-4, 0.99])
        t = self._build("cifar10/fargan_resnet_0gp.gin").trainer
        self.assertEqual(t.batch.num_far, 0)
        t = self._build("cifar10/fargan_resnet.gin",
                        ["FARGAN.loss = @wgan/AdversarialLoss()"]).trainer
        self.assertEqual(t.loss.d_real_fn.__name__, "wasserstein_d_real")
        self.assertAllClose(t.loss.d_real_fn(tf.constant([2.0])), [-2.0])

    def test_synthetic_settings(self):
        exp = self._build("synthetic/fargan_8gaussians.gin")
        t = exp.trainer
        self.assertEqual((t.batch.num_far, t.batch.far_factor, t.batch.num_fake, t.z_dim),
                         (16, 8, 64, 2))
        self.assertEqual((t.generator.width, t.generator.depth), (64, 3))
        self.assertIsInstance(t.g_optimizer, keras.optimizers.SGD)
        self.assertAllClose(t.g_optimizer.learning_rate, 3e-3)
        t = self._build("synthetic/fargan_8gaussians_0gp_interpolation.gin").trainer
        self.assertEqual(t.batch.num_far, 0)
        self.assertIsInstance(t.penalty, penalties.InterpolationPenalty)
        t = self._build("synthetic/fargan_gaussian_0gp_sample.gin").trainer
        self.assertEqual(t.batch.num_far, 0)
        self.assertIsInstance(t.penalty, penalties.SamplePenalty)


if __name__ == "__main__":
    tf.test.main()
