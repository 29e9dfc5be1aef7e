"""Tests of tfgan_fast.nets: shapes, ranges, golden sizes, layer maths, configs, distribution."""
import gin
import keras
import numpy as np
import tensorflow as tf

from tests.support import strategies
from tfgan_fast import nets
from tfgan_fast.nets import layers

B = 4
SMALL = 16  # width of the networks that are run, not just counted


def _num_params(model):
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))


def _labels(n, num_classes=10, seed=0):
    return tf.constant(np.random.RandomState(seed).randint(0, num_classes, n), tf.int32)


def _normal(shape, seed=0):
    return tf.constant(np.random.RandomState(seed).randn(*shape).astype(np.float32))


def _two_cpu_strategy(test):
    if len(tf.config.list_logical_devices("CPU")) < 2:
        test.skipTest("needs 2 logical CPU devices (tests/conftest.py)")
    return strategies.two_cpu_mirrored()


class GoldenParameterCountTest(tf.test.TestCase):
    """Trainable sizes of the published networks (BN moving statistics are not trainable).

    Conv kxk (a -> b) with bias: k*k*a*b + b; Dense (a -> b): a*b + b; CBN on C channels with K
    classes: 2*K*C; BN: 2*C.

    FastGAN / WGAN-GP G, width 128, z 128, K = 10, 4x4 bottom, 3 up-blocks to 32 px:
      Dense 128 -> 4*4*128:   128*2048 + 2048                               =   264,192
      up-block: 2 CBN 2*(2*10*128) = 5,120; 2 Conv3x3 2*(9*128*128 + 128)
                = 295,168; Conv1x1 shortcut 128*128 + 128 = 16,512          =   316,800
      3 up-blocks                                                            =   950,400
      final BN 2*128 = 256; Conv3x3 128 -> 3: 9*128*3 + 3 = 3,459            =     3,715
      total                                                                  = 1,218,307
    SNGAN CIFAR G (width 256, the same layout):
      Dense 128*4096 + 4096 = 528,384; up-block 2*(2*10*256) + 2*(9*256*256 + 256)
      + (256*256 + 256) = 10,240 + 1,180,160 + 65,792 = 1,256,192, x3 = 3,768,576;
      BN 512; Conv3x3 9*256*3 + 3 = 6,915                                    -> 4,304,387.
      Unconditional (plain BN, 2*256 per BN instead of 2*10*256): 4,304,387 - 3*2*(5,120 - 512)
                                                                             -> 4,276,739,
      the "~4.28 M" of TF-STACK-NOTES (that figure is the unconditional G).
    FastGAN D, width 128, 32 px, learnable shortcut in every block:
      optimized block: Conv3x3 3 -> 128: 9*3*128 + 128 = 3,584; Conv3x3 147,584; shortcut
      Conv1x1 3*128 + 128 = 512                                              =   151,680
      3 blocks (1 down, 2 not): 3*(2*147,584 + 16,512)                       =   935,040
      AC head: Dense(1) 129 + Dense(10) 1,290                                =     1,419
      total                                                                  = 1,088,139
      projection head instead: Dense(1) 129 + embedding 10*128 = 1,409       -> 1,088,129
      SNGAN's shortcuts ("auto": none in the 2 non-downsampling blocks):
      1,088,129 - 2*16,512                                                   -> 1,055,105
    """

    def _count_g(self, **kwargs):
        g = nets.ResNetGenerator(**kwargs)
        labels = _labels(1) if g.num_classes else None
        g(tf.zeros([1, g.z_dim]), labels)
        return _num_params(g)

    def _count_d(self, **kwargs):
        d = nets.ResNetDiscriminator(**kwargs)
        d(tf.zeros([1, 32, 32, 3]), _labels(1))
        return _num_params(d)

    def test_fastgan_generator(self):
        self.assertEqual(self._count_g(), 1_218_307)

    def test_sngan_generator(self):
        self.assertEqual(self._count_g(width=256), 4_304_387)
        self.assertEqual(self._count_g(width=256, num_classes=0), 4_276_739)

    def test_fastgan_discriminator(self):
        self.assertEqual(self._count_d(head="ac"), 1_088_139)
        self.assertEqual(self._count_d(head="projection"), 1_088_129)

    def test_sngan_discriminator(self):
        self.assertEqual(self._count_d(head="projection", learnable_shortcut="auto"), 1_055_105)
        # Spectral norm adds only the (non-trainable) power-iteration vectors.
        self.assertEqual(self._count_d(head="projection", learnable_shortcut="auto",
                                       spectral_norm=True), 1_055_105)


class GeneratorTest(tf.test.TestCase):

    def test_shapes_and_range(self):
        for resolution, num_classes, channels in [(32, 10, 3), (64, 5, 1), (16, 0, 3)]:
            g = nets.ResNetGenerator(resolution=resolution, channels=channels, width=SMALL,
                                     z_dim=8, num_classes=num_classes)
            labels = _labels(B, max(num_classes, 1)) if num_classes else None
            for training in (True, False):
                # A large z drives tanh into saturation: the range must still hold.
                x = g(10.0 * _normal([B, 8]), labels, training=training)
                self.assertEqual(x.shape, (B, resolution, resolution, channels))
                self.assertEqual(x.dtype, tf.float32)
                self.assertAllInRange(x, -1.0, 1.0)

    def test_unconditional_ignores_labels(self):
        g = nets.ResNetGenerator(width=SMALL, z_dim=8, num_classes=0)
        z = _normal([B, 8])
        self.assertAllClose(g(z, None), g(z, _labels(B)))

    def test_conditional_uses_labels(self):
        g = nets.ResNetGenerator(width=SMALL, z_dim=8, num_classes=10)
        with self.assertRaisesRegex(ValueError, "labels"):
            g(_normal([B, 8]))
        g(_normal([B, 8]), _labels(B))
        cbn = g.blocks[0].bn1
        cbn.gamma.embeddings.assign(_normal([10, SMALL], seed=1))
        z = _normal([B, 8])
        self.assertNotAllClose(g(z, tf.zeros([B], tf.int32)), g(z, tf.ones([B], tf.int32)))

    def test_invalid_resolution(self):
        for resolution in (48, 30, 4, 2):
            with self.assertRaisesRegex(ValueError, f"resolution must be .*, got {resolution}$"):
                nets.ResNetGenerator(resolution=resolution)

    def test_gradients_under_tf_function(self):
        g = nets.ResNetGenerator(width=SMALL, z_dim=8)
        z, labels = _normal([B, 8]), _labels(B)
        g(z, labels)

        @tf.function
        def grads():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(g(z, labels, training=True)))
            return tape.gradient(loss, g.trainable_variables)

        for grad, var in zip(grads(), g.trainable_variables):
            self.assertIsNotNone(grad, var.path)
            self.assertAllEqual(tf.math.is_finite(tf.convert_to_tensor(grad)),
                                tf.ones(grad.shape, tf.bool))


class DiscriminatorTest(tf.test.TestCase):

    def test_heads_and_shapes(self):
        images = _normal([B, 32, 32, 3])
        labels = _labels(B, 7)
        for head in ("ac", "projection", "none"):
            d = nets.ResNetDiscriminator(width=SMALL, num_classes=7, head=head)
            out = d(images, labels, training=True)
            expected = {"logits"} | ({"class_logits"} if head == "ac" else set())
            self.assertEqual(set(out), expected)
            self.assertEqual(out["logits"].shape, (B,))
            self.assertEqual(out["logits"].dtype, tf.float32)
            if head == "ac":
                self.assertEqual(out["class_logits"].shape, (B, 7))
                self.assertEqual(out["class_logits"].dtype, tf.float32)

    def test_other_resolutions(self):
        for resolution, num_blocks in [(16, 3), (64, 5), (128, 6)]:
            d = nets.ResNetDiscriminator(resolution=resolution, channels=1, width=8, head="none")
            out = d(_normal([2, resolution, resolution, 1]))
            self.assertEqual(out["logits"].shape, (2,))
            self.assertLen(d.blocks, num_blocks)
            # The features always leave the last block at 8x8.
            self.assertEqual(d.blocks[-1].compute_output_shape(
                (2, 8, 8, 8)), (2, 8, 8, 8))

    def test_projection_needs_labels(self):
        d = nets.ResNetDiscriminator(width=SMALL, head="projection")
        with self.assertRaisesRegex(ValueError, "labels"):
            d(_normal([B, 32, 32, 3]))

    def test_invalid_arguments(self):
        for resolution in (24, 8, 48):
            with self.assertRaisesRegex(ValueError, f"resolution must be .*, got {resolution}$"):
                nets.ResNetDiscriminator(resolution=resolution)
        with self.assertRaisesRegex(ValueError, "head"):
            nets.ResNetDiscriminator(head="linear")
        with self.assertRaisesRegex(ValueError, "learnable_shortcut"):
            nets.ResNetDiscriminator(learnable_shortcut="never")(_normal([1, 32, 32, 3]))

    def test_auto_shortcut(self):
        d = nets.ResNetDiscriminator(width=SMALL, learnable_shortcut="auto")
        d(_normal([1, 32, 32, 3]))
        self.assertEqual([b.has_shortcut_conv for b in d.blocks], [True, True, False, False])

    def test_features_use_sum_pooling(self):
        d = nets.ResNetDiscriminator(width=SMALL, head="none")
        images = _normal([B, 32, 32, 3])
        phi = d.features(images)
        h = images
        for block in d.blocks:
            h = block(h)
        self.assertAllClose(phi, np.maximum(h.numpy(), 0).sum(axis=(1, 2)), rtol=1e-5)


class ConditionalBatchNormTest(tf.test.TestCase):

    def test_matches_numpy(self):
        x = _normal([6, 3, 3, 5]) * 2.0 + 1.0
        labels = tf.constant([0, 2, 1, 2, 0, 1], tf.int32)
        gamma = np.random.RandomState(1).randn(3, 5).astype(np.float32)
        beta = np.random.RandomState(2).randn(3, 5).astype(np.float32)
        cbn = layers.ConditionalBatchNorm(3, momentum=0.9, epsilon=2e-5)
        cbn(x, labels)
        cbn.gamma.embeddings.assign(gamma)
        cbn.beta.embeddings.assign(beta)

        xn = x.numpy()
        mean, var = xn.mean(axis=(0, 1, 2)), xn.var(axis=(0, 1, 2))
        y = labels.numpy()
        expected = ((xn - mean) / np.sqrt(var + 2e-5) * gamma[y][:, None, None, :]
                    + beta[y][:, None, None, :])
        self.assertAllClose(cbn(x, labels, training=True), expected, atol=1e-5)
        # One training call moved the statistics 10% of the way from (0, 1).
        self.assertAllClose(cbn.bn.moving_mean, 0.1 * mean, atol=1e-6)
        self.assertAllClose(cbn.bn.moving_variance, 0.9 + 0.1 * var, atol=1e-5)
        expected = ((xn - 0.1 * mean) / np.sqrt(0.9 + 0.1 * var + 2e-5)
                    * gamma[y][:, None, None, :] + beta[y][:, None, None, :])
        self.assertAllClose(cbn(x, labels, training=False), expected, atol=1e-5)

    def test_initial_gamma_beta(self):
        cbn = layers.ConditionalBatchNorm(4)
        cbn(_normal([2, 2, 2, 3]), _labels(2, 4))
        self.assertAllEqual(cbn.gamma.embeddings, np.ones([4, 3]))
        self.assertAllEqual(cbn.beta.embeddings, np.zeros([4, 3]))


class FusedBatchNormTest(tf.test.TestCase):

    def test_fused_path_matches_keras_batch_norm(self):
        """The fused single-replica path: same outputs, gradients and moving statistics."""
        x = _normal([4, 5, 5, 6]) * 3.0 - 2.0
        ours = layers.FusedBatchNorm(momentum=0.9, epsilon=2e-5, synchronized=True)
        ref = keras.layers.BatchNormalization(momentum=0.9, epsilon=2e-5)
        ours.build(x.shape)
        ref.build(x.shape)
        for layer in (ours, ref):
            layer.gamma.assign(np.linspace(0.5, 2.0, 6))
            layer.beta.assign(np.linspace(-1.0, 1.0, 6))
        upstream = _normal([4, 5, 5, 6], seed=3)
        results = []
        for layer in (ours, ref):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, training=True)
                loss = tf.reduce_sum(y * upstream)
            results.append([y, *tape.gradient(loss, [x, layer.gamma, layer.beta]),
                            layer.moving_mean, layer.moving_variance])
        self.assertTrue(ours._use_fused_training_path(x, None))
        for a, b in zip(*results):
            self.assertAllClose(a, b, atol=1e-4, rtol=1e-4)


class FusedConvolutionTest(tf.test.TestCase):
    """The stride-2 re-expressions compute the same function as the layers they replace."""

    def _copy_into(self, fused, x):
        plain = keras.layers.Conv2D(fused.filters, 3, padding="same")
        plain.build(x.shape)
        plain.kernel.assign(_normal(plain.kernel.shape, seed=5))
        plain.bias.assign(_normal(plain.bias.shape, seed=6))
        fused.build(x.shape)
        fused.set_weights(plain.get_weights())
        return plain

    def test_upsample_conv(self):
        x = _normal([2, 5, 6, 3])
        fused = layers.UpsampleConv2D(4)
        plain = self._copy_into(fused, x)
        expected = plain(keras.layers.UpSampling2D(2, interpolation="nearest")(x))
        self.assertEqual(fused(x).shape, (2, 10, 12, 4))
        self.assertAllClose(fused(x), expected, atol=1e-5)

    def test_conv_avg_pool(self):
        x = _normal([2, 6, 8, 3])
        fused = layers.ConvAvgPool2D(4)
        plain = self._copy_into(fused, x)
        expected = keras.layers.AveragePooling2D(2)(plain(x))
        self.assertEqual(fused(x).shape, (2, 3, 4, 4))
        self.assertAllClose(fused(x), expected, atol=1e-5)

    def test_only_3x3(self):
        with self.assertRaisesRegex(ValueError, "3x3"):
            layers.UpsampleConv2D(4, kernel_size=5)


class MaskedActivationTest(tf.test.TestCase):
    """`layers.masked_activation` is ReLU / leaky ReLU, values and gradients, exactly."""

    def _check(self, dtype, slope):
        x = tf.cast(tf.concat([_normal([200]), tf.zeros([3])], 0), dtype)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            got = layers.masked_activation(x, slope)
            want = tf.nn.leaky_relu(x, slope) if slope else tf.nn.relu(x)
        weights = tf.cast(_normal([203], seed=1), dtype)  # an upstream gradient
        self.assertEqual(got.dtype, dtype)
        self.assertAllEqual(got, want)
        self.assertAllEqual(tape.gradient(got, x, output_gradients=weights),
                            tape.gradient(want, x, output_gradients=weights))

    def test_relu(self):
        for dtype in (tf.float32, tf.bfloat16):
            self._check(dtype, 0.0)

    def test_leaky_relu(self):
        for dtype in (tf.float32, tf.bfloat16):
            self._check(dtype, 0.2)


class HeadTest(tf.test.TestCase):

    def test_projection_head_by_hand(self):
        phi = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], np.float32)
        labels = tf.constant([1, 0], tf.int32)
        head = layers.ProjectionHead(2)
        head(phi, labels)
        w = np.array([[0.5], [1.0], [-2.0]], np.float32)
        embed = np.array([[1.0, 0.0, 2.0], [-1.0, 1.0, 0.0]], np.float32)
        head.psi.kernel.assign(w)
        head.psi.bias.assign([0.25])
        head.embed.kernel.assign(embed)
        # psi: [0.5 - 2 - 1 + 0.25, 0 + 3 + 2 + 0.25] = [-2.25, 5.25];
        # <embed[y], phi>: [-1 - 2 + 0, 0 + 0 - 2] = [-3, -2].
        out = head(phi, labels)
        self.assertEqual(set(out), {"logits"})
        self.assertAllClose(out["logits"], [-5.25, 3.25])

    def test_ac_head_by_hand(self):
        phi = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0]], np.float32)
        head = layers.ACHead(3)
        head(phi)
        head.adv.kernel.assign([[2.0], [-1.0]])
        head.adv.bias.assign([1.0])
        head.cls.kernel.assign(np.arange(6, dtype=np.float32).reshape(2, 3))
        head.cls.bias.assign([0.0, 0.0, 1.0])
        out = head(phi)
        self.assertAllClose(out["logits"], [1.0, -1.5, 1.0])
        self.assertAllClose(out["class_logits"], [[6.0, 9.0, 13.0], [1.5, 1.0, 1.5],
                                                  [0.0, 0.0, 1.0]])


class SpectralNormTest(tf.test.TestCase):

    def test_largest_singular_value_is_one(self):
        d = nets.ResNetDiscriminator(width=8, head="projection", spectral_norm=True)
        images, labels = _normal([2, 32, 32, 3]), _labels(2)
        for _ in range(30):
            d(images, labels, training=True)
        wrappers = [layer for layer in d._flatten_layers()
                    if isinstance(layer, keras.layers.SpectralNormalization)]
        # 4 blocks x 3 convolutions, psi and the class embedding.
        self.assertLen(wrappers, 14)
        for wrapper in wrappers:
            kernel = wrapper.kernel.numpy()
            sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
            self.assertAllClose(sigma, 1.0, atol=1e-2, msg=wrapper.path)


class ConfigTest(tf.test.TestCase):

    def _assert_round_trip(self, layer, *args):
        """Same config after from_config; same output once the weights are copied."""
        expected = layer(*args)
        clone = type(layer).from_config(layer.get_config())
        self.assertEqual(clone.get_config(), layer.get_config())
        clone(*args)
        clone.set_weights(layer.get_weights())
        tf.nest.map_structure(self.assertAllClose, clone(*args), expected)

    def test_layers_round_trip(self):
        x4, labels = _normal([B, 4, 4, 6]), _labels(B, 5)
        phi = _normal([B, 6])
        self._assert_round_trip(
            layers.FusedBatchNorm(momentum=0.8, epsilon=1e-4, synchronized=False, name="sbn"), x4)
        self._assert_round_trip(
            layers.ConditionalBatchNorm(5, momentum=0.5, epsilon=1e-3, synchronized=False,
                                        name="cbn"), x4, labels)
        self._assert_round_trip(
            layers.ResBlockUp(8, num_classes=5, upsample=True, learnable_shortcut="auto",
                              sync_bn=False, momentum=0.8, epsilon=1e-4, name="up"), x4, labels)
        self._assert_round_trip(layers.ResBlockUp(6, upsample=False, learnable_shortcut="auto"),
                                x4)
        self._assert_round_trip(
            layers.ResBlockDown(8, downsample=True, optimized=True, name="opt"), x4)
        self._assert_round_trip(
            layers.ResBlockDown(6, downsample=False, learnable_shortcut="auto",
                                spectral_norm=True), x4)
        self._assert_round_trip(layers.UpsampleConv2D(3, use_bias=False, name="upconv"), x4)
        self._assert_round_trip(layers.ConvAvgPool2D(3, name="convpool"), x4)
        self._assert_round_trip(layers.ACHead(5, spectral_norm=True, name="ac"), phi)
        self._assert_round_trip(layers.ProjectionHead(5, name="proj"), phi, labels)

    def test_models_round_trip(self):
        g = nets.ResNetGenerator(resolution=16, channels=1, width=8, z_dim=4, num_classes=3,
                                 bottom_width=2, sync_bn=False, name="gen")
        g(tf.zeros([1, 4]), _labels(1, 3))
        g2 = nets.ResNetGenerator.from_config(g.get_config())
        self.assertEqual(g2.get_config(), g.get_config())
        self.assertEqual(g.get_config()["bottom_width"], 2)
        g2(tf.zeros([1, 4]), _labels(1, 3))
        self.assertEqual(_num_params(g2), _num_params(g))

        d = nets.ResNetDiscriminator(resolution=16, channels=1, width=8, num_classes=3,
                                     head="projection", spectral_norm=True,
                                     learnable_shortcut="auto", name="disc")
        d(tf.zeros([1, 16, 16, 1]), _labels(1, 3))
        d2 = nets.ResNetDiscriminator.from_config(d.get_config())
        self.assertEqual(d2.get_config(), d.get_config())
        self.assertEqual(d.get_config()["head"], "projection")
        d2(tf.zeros([1, 16, 16, 1]), _labels(1, 3))
        self.assertEqual(_num_params(d2), _num_params(d))

    def test_gin_names(self):
        try:
            with gin.unlock_config():
                gin.parse_config("ResNetGenerator.width = 8\n"
                                 "ResNetDiscriminator.head = 'none'")
                g = gin.get_configurable("ResNetGenerator")(z_dim=4)
                d = gin.get_configurable("ResNetDiscriminator")(width=8)
        finally:
            gin.clear_config()
        self.assertIsInstance(g, nets.ResNetGenerator)
        self.assertEqual(g.width, 8)
        self.assertEqual(d.head, "none")
        self.assertEqual(g(tf.zeros([1, 4]), _labels(1)).shape, (1, 32, 32, 3))


class CheckpointTest(tf.test.TestCase):

    def _round_trip(self, make, *args):
        """Every variable (BN moving statistics, spectral-norm vectors too) restores."""
        model = make()
        model(*args)
        for _ in range(2):
            model(*args, training=True)  # moves BN statistics and spectral-norm state
        path = tf.train.Checkpoint(model=model).save(self.get_temp_dir() + "/ckpt")
        saved = {name for name, _ in tf.train.list_variables(path)}
        self.assertLen([n for n in saved if n.startswith("model/")], len(model.variables))
        restored = make()
        restored(*args)
        tf.train.Checkpoint(model=restored).restore(path).assert_consumed()
        for a, b in zip(model.variables, restored.variables):
            self.assertAllEqual(a, b, msg=a.path)
        tf.nest.map_structure(self.assertAllClose, restored(*args), model(*args))

    def test_generator(self):
        self._round_trip(lambda: nets.ResNetGenerator(width=8, z_dim=4), _normal([B, 4]),
                         _labels(B))

    def test_discriminator(self):
        self._round_trip(
            lambda: nets.ResNetDiscriminator(resolution=16, width=8, head="projection",
                                             spectral_norm=True),
            _normal([B, 16, 16, 3]), _labels(B))


class MixedPrecisionTest(tf.test.TestCase):

    def test_mixed_bfloat16(self):
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            g = nets.ResNetGenerator(width=SMALL, z_dim=8)
            d = nets.ResNetDiscriminator(width=SMALL, spectral_norm=True)
            labels = _labels(B)
            with tf.GradientTape() as tape:
                x = g(_normal([B, 8]), labels, training=True)
                out = d(x, labels, training=True)
                loss = tf.reduce_mean(out["logits"]) + tf.reduce_mean(out["class_logits"])
            grads = tape.gradient(loss, g.trainable_variables)
        finally:
            keras.mixed_precision.set_global_policy("float32")
        self.assertEqual(g.blocks[0].conv1.compute_dtype, "bfloat16")
        self.assertEqual(x.dtype, tf.float32)
        self.assertEqual(out["logits"].dtype, tf.float32)
        self.assertEqual(out["class_logits"].dtype, tf.float32)
        self.assertTrue(all(v.dtype == tf.float32 for v in g.trainable_variables))
        self.assertTrue(all(gr is not None for gr in grads))
        self.assertTrue(np.isfinite(loss.numpy()))


class MirroredStrategyTest(tf.test.TestCase):

    def _run_per_replica(self, strategy, fn, *global_args):
        """Runs `fn` on halves of the global batch, returns the concatenated outputs."""
        n = strategy.num_replicas_in_sync

        def split(ctx):
            i = ctx.replica_id_in_sync_group
            return tuple(tf.split(a, n)[i] for a in global_args)

        args = strategy.experimental_distribute_values_from_function(split)
        out = strategy.run(tf.function(fn), args=args)
        return tf.nest.map_structure(
            lambda o: tf.concat(strategy.experimental_local_results(o), axis=0), out)

    def test_sync_bn_generator_equals_single_device(self):
        strategy = _two_cpu_strategy(self)
        z, labels = _normal([8, 8]) * 2.0, _labels(8)
        kwargs = dict(width=SMALL, z_dim=8, sync_bn=True)
        with strategy.scope():
            g2 = nets.ResNetGenerator(**kwargs)
            g2(z[:1], labels[:1])
        g1 = nets.ResNetGenerator(**kwargs)
        g1(z[:1], labels[:1])
        g1.set_weights(g2.get_weights())
        # Non-trivial conditional gains so that the labels matter per replica.
        for block in g1.blocks:
            block.bn1.gamma.embeddings.assign(1.0 + _normal([10, SMALL], seed=7) * 0.5)
        for block in g2.blocks:
            block.bn1.gamma.embeddings.assign(1.0 + _normal([10, SMALL], seed=7) * 0.5)

        expected = g1(z, labels, training=True)
        got = self._run_per_replica(strategy, lambda z, y: g2(z, y, training=True), z, labels)
        self.assertAllClose(got, expected, atol=1e-5, rtol=1e-5)
        # The moving statistics saw the same global-batch moments.
        self.assertAllClose(g2.blocks[1].bn2.bn.moving_variance,
                            g1.blocks[1].bn2.bn.moving_variance, atol=1e-5, rtol=1e-5)
        self.assertAllClose(g2.bn.moving_mean, g1.bn.moving_mean, atol=1e-5, rtol=1e-5)
        # Inference with the (identical) moving statistics.
        got = self._run_per_replica(strategy, lambda z, y: g2(z, y, training=False), z, labels)
        self.assertAllClose(got, g1(z, labels, training=False), atol=1e-5, rtol=1e-5)

    def test_spectral_norm_discriminator_equals_single_device(self):
        strategy = _two_cpu_strategy(self)
        images, labels = _normal([8, 16, 16, 3]), _labels(8)
        kwargs = dict(resolution=16, width=8, head="projection", spectral_norm=True)
        with strategy.scope():
            d2 = nets.ResNetDiscriminator(**kwargs)
            d2(images[:1], labels[:1])
        d1 = nets.ResNetDiscriminator(**kwargs)
        d1(images[:1], labels[:1])
        d1.set_weights(d2.get_weights())
        for _ in range(2):
            expected = d1(images, labels, training=True)
            got = self._run_per_replica(
                strategy, lambda x, y: d2(x, y, training=True), images, labels)
            self.assertAllClose(got, expected, atol=1e-5, rtol=1e-5)


# --- SNGAN ImageNet layouts, SAGAN self-attention (issue 4) -------------------------------------

G128, D128 = (16, 16, 8, 4, 2, 1), (1, 2, 4, 8, 16, 16)
G64, D64 = (16, 8, 4, 2, 1), (1, 2, 4, 8, 16)


def _conv(k, a, b, bias=True):
    return k * k * a * b + (b if bias else 0)


def _attention(c):
    # theta, phi: C -> C/8; g: C -> C/2; out: C/2 -> C (1x1, no bias); gamma.
    return 2 * _conv(1, c, c // 8, False) + _conv(1, c, c // 2, False) + _conv(
        1, c // 2, c, False) + 1


def _sngan_g_count(width, z_dim, k, multipliers, channels=3, attention_channels=0):
    """Dense z -> 4*4*c0; per up-block: 2 CBN (2*K*C each), Conv3x3 a->b, Conv3x3 b->b,
    Conv1x1 shortcut a->b; BN on the last map; Conv3x3 -> channels."""
    c = [width * m for m in multipliers]
    total = z_dim * 16 * c[0] + 16 * c[0]
    for a, b in zip(c[:-1], c[1:]):
        total += 2 * k * a + 2 * k * b + _conv(3, a, b) + _conv(3, b, b) + _conv(1, a, b)
    total += 2 * c[-1] + _conv(3, c[-1], channels)
    if attention_channels:
        total += _attention(attention_channels)
    return total


def _sngan_d_count(width, k, multipliers, channels=3, attention_channels=0):
    """Optimized block: Conv3x3 in->c0, Conv3x3 c0->c0, Conv1x1 in->c0; block a->b: Conv3x3
    a->a (hidden = in, SNGAN), Conv3x3 a->b, Conv1x1 a->b unless a == b and no downsampling
    ("auto"); projection head: psi Dense(C, 1) + embedding K x C."""
    c = [width * m for m in multipliers]
    total = _conv(3, channels, c[0]) + _conv(3, c[0], c[0]) + _conv(1, channels, c[0])
    for i, (a, b) in enumerate(zip(c[:-1], c[1:])):
        last = i == len(c) - 2
        total += _conv(3, a, a) + _conv(3, a, b)
        if a != b or not last:
            total += _conv(1, a, b)
    total += c[-1] + 1 + k * c[-1]
    if attention_channels:
        total += _attention(attention_channels)
    return total


def _block_sizes(d, images):
    sizes, h = [], images
    for block in d.blocks:
        h = block(h)
        sizes.append((h.shape[1], h.shape[-1]))
    return sizes


class ImageNetLayoutTest(tf.test.TestCase):
    """SNGAN's ImageNet G / D (`gen_models/resnet*.py`, `dis_models/snresnet*.py`)."""

    def test_shapes(self):
        for resolution, gm, dm in [(64, G64, D64), (128, G128, D128)]:
            g = nets.ResNetGenerator(resolution=resolution, width=2, z_dim=8, num_classes=5,
                                     channel_multipliers=gm)
            x = g(_normal([2, 8]), _labels(2, 5), training=True)
            self.assertEqual(x.shape, (2, resolution, resolution, 3))
            self.assertAllInRange(x, -1.0, 1.0)
            self.assertEqual([b.filters for b in g.blocks], [2 * m for m in gm[1:]])
            d = nets.ResNetDiscriminator(resolution=resolution, width=2, num_classes=5,
                                         head="projection", learnable_shortcut="auto",
                                         channel_multipliers=dm)
            out = d(x, _labels(2, 5))
            self.assertEqual(out["logits"].shape, (2,))
            sizes = [resolution // 2 ** (i + 1) for i in range(len(dm) - 1)] + [4]
            self.assertEqual(_block_sizes(d, x), list(zip(sizes, [2 * m for m in dm])))
            self.assertEqual(d.features(x).shape, (2, 2 * dm[-1]))
        # SNGAN's / RobGAN's own 64 px D downsamples in all five blocks (to 2x2).
        d = nets.ResNetDiscriminator(resolution=64, width=2, head="none",
                                     channel_multipliers=D64, downsample_last=True)
        self.assertEqual([s for s, _ in _block_sizes(d, _normal([1, 64, 64, 3]))],
                         [32, 16, 8, 4, 2])

    def test_parameter_counts_by_hand(self):
        g = nets.ResNetGenerator(resolution=64, width=2, z_dim=8, num_classes=3,
                                 channel_multipliers=G64)
        g(tf.zeros([1, 8]), _labels(1, 3))
        self.assertEqual(_num_params(g), _sngan_g_count(2, 8, 3, G64))
        d = nets.ResNetDiscriminator(resolution=64, width=2, num_classes=3, head="projection",
                                     learnable_shortcut="auto", channel_multipliers=D64,
                                     spectral_norm=True)
        d(tf.zeros([1, 64, 64, 3]), _labels(1, 3))
        self.assertEqual(_num_params(d), _sngan_d_count(2, 3, D64))
        # The SNGAN 128 px D: the last block (16ch -> 16ch, no pooling) has no shortcut conv.
        d = nets.ResNetDiscriminator(resolution=128, width=2, num_classes=3, head="projection",
                                     learnable_shortcut="auto", channel_multipliers=D128)
        d(tf.zeros([1, 128, 128, 3]), _labels(1, 3))
        self.assertEqual(_num_params(d), _sngan_d_count(2, 3, D128))
        self.assertFalse(d.blocks[-1].has_shortcut_conv)
        # SAGAN at 128 px: attention after the 32x32 block of G (4ch) and of D (2ch).
        g = nets.ResNetGenerator(resolution=128, width=4, z_dim=8, num_classes=3,
                                 channel_multipliers=G128, attention_resolution=32,
                                 spectral_norm=True)
        g(tf.zeros([1, 8]), _labels(1, 3))
        self.assertEqual(_num_params(g), _sngan_g_count(4, 8, 3, G128, attention_channels=16))
        self.assertEqual(g.attention.theta.kernel.shape, (1, 1, 16, 2))
        d = nets.ResNetDiscriminator(resolution=128, width=4, num_classes=3, head="projection",
                                     spectral_norm=True, learnable_shortcut="auto",
                                     channel_multipliers=D128, attention_resolution=32)
        d(tf.zeros([1, 128, 128, 3]), _labels(1, 3))
        self.assertEqual(_num_params(d), _sngan_d_count(4, 3, D128, attention_channels=8))
        self.assertEqual(d.attention.theta.kernel.shape, (1, 1, 8, 1))

    def test_full_size_formula_matches_sngan(self):
        """ch = 64, 1000 classes: the formulas above give SNGAN's 128 px sizes (the networks
        themselves are counted in the report; building them here would take too long)."""
        self.assertEqual(_sngan_g_count(64, 128, 1000, G128), 41_996_931)
        self.assertEqual(_sngan_d_count(64, 1000, D128), 30_041_857)

    def test_invalid_layouts(self):
        with self.assertRaisesRegex(ValueError, r"channel_multipliers=\(16, 8, 4, 2\).*5"):
            nets.ResNetGenerator(resolution=64, channel_multipliers=(16, 8, 4, 2))
        with self.assertRaisesRegex(ValueError, r"channel_multipliers=\(1, 2, 4, 8\).*5"):
            nets.ResNetDiscriminator(resolution=64, channel_multipliers=(1, 2, 4, 8))
        with self.assertRaisesRegex(ValueError, "channel_multipliers=.*positive"):
            nets.ResNetGenerator(resolution=64, channel_multipliers=(16, 8, 0, 2, 1))
        with self.assertRaisesRegex(ValueError, "attention_resolution=12"):
            nets.ResNetGenerator(resolution=64, channel_multipliers=G64, attention_resolution=12)
        with self.assertRaisesRegex(ValueError, "attention_resolution=4 "):
            nets.ResNetGenerator(resolution=64, attention_resolution=4)  # 4 is only the input
        with self.assertRaisesRegex(ValueError, "attention_resolution=64"):
            nets.ResNetDiscriminator(resolution=64, channel_multipliers=D64,
                                     attention_resolution=64)

    def test_downsample_last_without_multipliers_halves_in_every_block(self):
        # The FastGAN authors' CIFAR D (gin/base/authors_nets.gin): every block at `width`,
        # every block halving, down to 2x2, at any resolution.
        for resolution, want_sizes in ((32, [16, 8, 4, 2]), (16, [8, 4, 2]), (64, [32, 16, 8, 4, 2])):
            d = nets.ResNetDiscriminator(resolution, 1, width=4, num_classes=3,
                                         downsample_last=True)
            x = tf.zeros([2, resolution, resolution, 1])
            sizes = []
            h = x
            for block in d.blocks:
                h = block(h)
                sizes.append(int(h.shape[1]))
            self.assertEqual(sizes, want_sizes, resolution)
            self.assertEqual(list(d.channel_multipliers), [1] * len(want_sizes))
            explicit = nets.ResNetDiscriminator(resolution, 1, width=4, num_classes=3,
                                                channel_multipliers=[1] * len(want_sizes),
                                                downsample_last=True)
            d(x, _labels(2, 3))
            explicit(x, _labels(2, 3))
            self.assertEqual([w.shape for w in d.weights], [w.shape for w in explicit.weights])

    def test_cifar_layout_accepts_attention(self):
        g = nets.ResNetGenerator(width=8, z_dim=4, attention_resolution=16)
        x = g(_normal([2, 4]), _labels(2))
        self.assertEqual(x.shape, (2, 32, 32, 3))
        self.assertEqual(g.attention.g.kernel.shape, (1, 1, 8, 4))
        d = nets.ResNetDiscriminator(width=8, head="none", attention_resolution=8)
        self.assertEqual(d(x)["logits"].shape, (2,))

    def test_models_round_trip(self):
        g = nets.ResNetGenerator(resolution=64, width=4, z_dim=4, num_classes=3,
                                 channel_multipliers=G64, attention_resolution=32,
                                 spectral_norm=True, name="g64")
        d = nets.ResNetDiscriminator(resolution=64, width=4, num_classes=3, head="projection",
                                     spectral_norm=True, learnable_shortcut="auto",
                                     channel_multipliers=D64, attention_resolution=16,
                                     downsample_last=True, name="d64")
        for model, args in ((g, (tf.zeros([1, 4]), _labels(1, 3))),
                            (d, (tf.zeros([1, 64, 64, 3]), _labels(1, 3)))):
            model(*args)
            clone = type(model).from_config(model.get_config())
            self.assertEqual(clone.get_config(), model.get_config())
            clone(*args)
            self.assertEqual(_num_params(clone), _num_params(model))
        self.assertEqual(g.get_config()["channel_multipliers"], list(G64))
        self.assertEqual(d.get_config()["attention_resolution"], 16)

    def test_gin_binding(self):
        try:
            with gin.unlock_config():
                gin.parse_config("ResNetGenerator.channel_multipliers = (16, 8, 4, 2, 1)\n"
                                 "ResNetGenerator.attention_resolution = 32\n"
                                 "ResNetDiscriminator.channel_multipliers = (1, 2, 4, 8, 16)")
                g = gin.get_configurable("ResNetGenerator")(resolution=64, width=2, z_dim=4)
                d = gin.get_configurable("ResNetDiscriminator")(resolution=64, width=2)
        finally:
            gin.clear_config()
        self.assertEqual(g.channel_multipliers, G64)
        self.assertEqual(g.attention_resolution, 32)
        self.assertEqual(d.channel_multipliers, D64)


class SelfAttentionTest(tf.test.TestCase):

    def test_zero_gamma_is_identity(self):
        x = _normal([2, 4, 6, 8])
        layer = layers.SelfAttention()
        self.assertAllEqual(layer(x), x)
        self.assertEqual(float(layer.gamma), 0.0)

    def test_matches_numpy(self):
        """A 4x4 map with 8 channels: 16 queries attend over the 4 max-pooled keys."""
        x = _normal([2, 4, 4, 8])
        layer = layers.SelfAttention()
        layer(x)
        rng = np.random.RandomState(3)
        w = {name: rng.randn(*getattr(layer, name).kernel.shape).astype(np.float32) * 0.5
             for name in ("theta", "phi", "g", "attn_out")}
        for name, value in w.items():
            getattr(layer, name).kernel.assign(value)
        layer.gamma.assign(0.7)

        xn = x.numpy()

        def conv1x1(a, kernel):
            return a @ kernel[0, 0]

        def pool(a):  # 2x2 max pooling, [B, H, W, C] -> [B, H/2, W/2, C]
            b, h, w_, c = a.shape
            return a.reshape(b, h // 2, 2, w_ // 2, 2, c).max(axis=(2, 4))

        theta = conv1x1(xn, w["theta"]).reshape(2, 16, 1)
        phi = pool(conv1x1(xn, w["phi"])).reshape(2, 4, 1)
        g = pool(conv1x1(xn, w["g"])).reshape(2, 4, 4)
        logits = theta @ phi.transpose(0, 2, 1)  # [2, 16, 4]
        beta = np.exp(logits - logits.max(-1, keepdims=True))
        beta /= beta.sum(-1, keepdims=True)
        o = conv1x1((beta @ g).reshape(2, 4, 4, 4), w["attn_out"])
        self.assertAllClose(layer(x), xn + 0.7 * o, atol=1e-5)
        # The attention really mixes positions: not a per-pixel function of x.
        self.assertGreater(float(np.abs(beta - 0.25).max()), 0.05)

    def test_invalid_inputs(self):
        with self.assertRaisesRegex(ValueError, "at least 8 channels"):
            layers.SelfAttention()(_normal([1, 4, 4, 4]))
        with self.assertRaisesRegex(ValueError, "even height and width"):
            layers.SelfAttention()(_normal([1, 5, 4, 8]))

    def test_round_trip(self):
        x = _normal([2, 4, 4, 16])
        layer = layers.SelfAttention(spectral_norm=True, name="attn")
        layer(x)
        layer.gamma.assign(0.5)
        clone = layers.SelfAttention.from_config(layer.get_config())
        self.assertEqual(clone.get_config(), layer.get_config())
        self.assertTrue(layer.get_config()["spectral_norm"])
        clone(x)
        clone.set_weights(layer.get_weights())
        self.assertAllClose(clone(x), layer(x))
        self.assertIsInstance(layer.theta, keras.layers.SpectralNormalization)

    def test_round_trip_new_block_arguments(self):
        x = _normal([2, 4, 4, 6])
        up = layers.ResBlockUp(8, num_classes=3, spectral_norm=True, name="up_sn")
        up(x, _labels(2, 3))
        self.assertEqual(layers.ResBlockUp.from_config(up.get_config()).get_config(),
                         up.get_config())
        self.assertIsInstance(up.conv1, keras.layers.SpectralNormalization)
        down = layers.ResBlockDown(8, hidden_channels=6, name="down_hidden")
        down(x)
        self.assertEqual(down.conv1.kernel.shape, (3, 3, 6, 6))
        self.assertEqual(down.conv2.kernel.shape, (3, 3, 6, 8))
        self.assertEqual(layers.ResBlockDown.from_config(down.get_config()).get_config(),
                         down.get_config())


class SpectralNormImageNetTest(tf.test.TestCase):

    def _wrappers(self, model):
        return [layer for layer in model._flatten_layers()
                if isinstance(layer, keras.layers.SpectralNormalization)]

    @staticmethod
    def _key(wrapper):
        return wrapper.path.split("/", 1)[1]  # without the model's unique name

    def test_generator_and_attention_kernels_reach_unit_norm(self):
        g = nets.ResNetGenerator(resolution=16, width=1, z_dim=4, num_classes=3,
                                 channel_multipliers=(8, 8, 8), attention_resolution=8,
                                 spectral_norm=True)
        z, labels = _normal([2, 4]), _labels(2, 3)
        g(z, labels)
        step = tf.function(lambda: g(z, labels, training=True))
        for _ in range(30):
            step()
        wrappers = self._wrappers(g)
        # dense, 2 blocks x 3 convs, conv_out, 4 attention convs.
        self.assertLen(wrappers, 12)
        for wrapper in wrappers:
            kernel = wrapper.kernel.numpy()
            sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
            self.assertAllClose(sigma, 1.0, atol=1e-2, msg=wrapper.path)
        # The conditional-BN tables are not normalised.
        self.assertFalse(any("gamma" in w.path or "beta" in w.path for w in wrappers))

    def test_power_iteration_vector_is_checkpointed(self):
        def make():
            return nets.ResNetDiscriminator(resolution=16, width=8, num_classes=3,
                                            head="projection", spectral_norm=True,
                                            learnable_shortcut="auto",
                                            channel_multipliers=(1, 2, 2),
                                            attention_resolution=8)

        images, labels = _normal([2, 16, 16, 3]), _labels(2, 3)
        d = make()
        for _ in range(3):
            d(images, labels, training=True)
        u = {self._key(w): w.vector_u.numpy() for w in self._wrappers(d)}
        self.assertLen(u, 3 * 3 - 1 + 4 + 2)  # no shortcut conv in the last block
        path = tf.train.Checkpoint(model=d).save(self.get_temp_dir() + "/ckpt")
        saved = " ".join(name for name, _ in tf.train.list_variables(path))
        self.assertEqual(saved.count("vector_u"), len(u))
        fresh = make()
        fresh(images, labels)
        before = {self._key(w): w.vector_u.numpy() for w in self._wrappers(fresh)}
        tf.train.Checkpoint(model=fresh).restore(path).assert_consumed()
        for wrapper in self._wrappers(fresh):
            key = self._key(wrapper)
            self.assertNotAllClose(before[key], u[key])
            self.assertAllEqual(wrapper.vector_u, u[key], msg=key)
        self.assertAllClose(fresh(images, labels)["logits"], d(images, labels)["logits"])


if __name__ == "__main__":
    tf.test.main()
