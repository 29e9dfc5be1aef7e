"""Evaluation: metrics against numpy/scipy, classifiers, statistics cache, evaluator, callback.

Nothing here touches the network: the TF-Hub reachability probe is patched, and
`socket.create_connection` raises if anything tries to connect anyway.
"""

import csv
import io
import os
import shutil
import time
import types
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from tests.support.tiny_nets import TinyGenerator
from tfgan_fast.eval import callback as callback_lib
from tfgan_fast.eval import classifiers
from tfgan_fast.eval import curves
from tfgan_fast.eval import evaluator as evaluator_lib
from tfgan_fast.eval import features
from tfgan_fast.eval import manifold
from tfgan_fast.eval import metrics
from tfgan_fast.eval import small_classifier
from tfgan_fast.eval import stats
from tfgan_fast.eval import tfgan_compat

try:
    import scipy.linalg
except ImportError:  # scipy is a test-only dependency
    scipy = None


def _no_network(*args, **kwargs):
    raise AssertionError(f"a test tried to open a connection: {args}")


# --- references -----------------------------------------------------------------------------


def _np_fid(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def _np_is(logits):
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    q = p.mean(0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(q)), 1))))


def _np_kid_block(r, g):
    d = r.shape[1]
    k_rr = (r @ r.T / d + 1) ** 3
    k_gg = (g @ g.T / d + 1) ** 3
    k_rg = (r @ g.T / d + 1) ** 3
    m, n = len(r), len(g)
    return ((k_rr.sum() - np.trace(k_rr)) / (m * (m - 1))
            + (k_gg.sum() - np.trace(k_gg)) / (n * (n - 1)) - 2 * k_rg.mean())


def _tiny_cnn(size=8, channels=1, classes=4, name="tiny"):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((size, size, channels))
    x = keras.layers.Conv2D(3, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    feats = keras.layers.Dense(6, activation="tanh", name="features")(x)
    logits = keras.layers.Dense(classes, name="logits")(feats)
    return keras.Model(inputs, [logits, feats], name=name)


def _images(n, size=4, seed=0, shift=0.0):
    rng = np.random.RandomState(seed)
    return np.clip(rng.uniform(-1, 1, (n, size, size, 1)) * 0.8 + shift, -1, 1).astype("float32")


# --- metrics ----------------------------------------------------------------------------------


class MetricsTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        rng = np.random.RandomState(0)
        self.a = rng.randn(300, 8)
        self.b = rng.randn(200, 8) @ rng.randn(8, 8) * 0.5 + 0.3

    def test_fid_matches_scipy(self):
        if scipy is None:
            self.skipTest("scipy not installed")
        want = _np_fid(self.a, self.b)
        self.assertAllClose(metrics.fid_from_activations(self.a, self.b), want, rtol=1e-7)
        mu1, s1 = metrics.activation_stats(self.a)
        mu2, s2 = metrics.activation_stats(self.b)
        self.assertAllClose(metrics.fid_from_stats(mu1, s1, mu2, s2), want, rtol=1e-7)

    def test_trace_sqrt_product_matches_scipy_for_singular_covariances(self):
        if scipy is None:
            self.skipTest("scipy not installed")
        rng = np.random.RandomState(1)
        low_rank = rng.randn(5, 12)  # 5 samples in 12-d: rank-deficient covariance
        s1 = np.cov(low_rank, rowvar=False)
        s2 = np.cov(rng.randn(40, 12), rowvar=False)
        want = np.trace(scipy.linalg.sqrtm(s1 @ s2).real)
        self.assertAllClose(metrics.trace_sqrt_product(s1, s2), want, rtol=1e-6)

    def test_fid_of_a_set_with_itself_is_zero(self):
        self.assertAllClose(metrics.fid_from_activations(self.a, self.a), 0.0, atol=1e-9)
        mu, s = metrics.activation_stats(self.b)
        self.assertAllClose(metrics.fid_from_stats(mu, s, mu, s), 0.0, atol=1e-9)

    def test_fid_from_stats_grows_with_mean_shift(self):
        mu, s = metrics.activation_stats(self.a)
        self.assertAllClose(metrics.fid_from_stats(mu, s, mu + 2.0, s), 4.0 * 8, rtol=1e-9)

    def test_fid_from_stats_rejects_mismatched_shapes(self):
        mu, s = metrics.activation_stats(self.a)
        with self.assertRaisesRegex(ValueError, "same classifier layer"):
            metrics.fid_from_stats(mu, s, mu[:4], s[:4, :4])

    def test_activation_stats_float64_and_chunked(self):
        acts = self.b.astype(np.float32)
        with mock.patch.object(metrics, "_STATS_CHUNK", 7):  # 200 rows in uneven chunks
            mu, sigma = metrics.activation_stats(acts)
        self.assertEqual(mu.dtype, np.float64)
        self.assertEqual(sigma.dtype, np.float64)
        self.assertAllClose(mu, acts.astype(np.float64).mean(0), rtol=1e-12)
        self.assertAllClose(sigma, np.cov(acts.astype(np.float64), rowvar=False), rtol=1e-10)

    def test_inception_score_matches_numpy_over_uneven_splits(self):
        logits = np.random.RandomState(2).randn(103, 7) * 3
        mean, std = metrics.inception_score(logits, splits=10)
        n = 103
        parts = [_np_is(logits[i * n // 10:(i + 1) * n // 10]) for i in range(10)]
        self.assertEqual(sorted({(i + 1) * n // 10 - i * n // 10 for i in range(10)}), [10, 11])
        self.assertAllClose(mean, np.mean(parts), rtol=1e-9)
        self.assertAllClose(std, np.std(parts), rtol=1e-9)

    def test_inception_score_of_uniform_logits_is_one(self):
        mean, std = metrics.inception_score(np.zeros([50, 10]), splits=5)
        self.assertAllClose(mean, 1.0, atol=1e-9)
        self.assertAllClose(std, 0.0, atol=1e-9)

    def test_inception_score_of_confident_balanced_logits_is_the_class_count(self):
        c = 7
        logits = 100.0 * np.eye(c)[np.arange(70) % c]  # every split holds each class once
        mean, std = metrics.inception_score(logits, splits=10)
        self.assertAllClose(mean, c, rtol=1e-9)
        self.assertAllClose(std, 0.0, atol=1e-9)
        self.assertAllClose(metrics.inception_score(logits, splits=1), (c, 0.0), rtol=1e-9)

    def test_inception_score_split_bounds(self):
        with self.assertRaisesRegex(ValueError, "splits"):
            metrics.inception_score(np.zeros([5, 3]), splits=6)
        with self.assertRaisesRegex(ValueError, "splits"):
            metrics.inception_score(np.zeros([5, 3]), splits=0)

    def test_kid_matches_numpy_for_one_and_two_blocks(self):
        want = _np_kid_block(self.a, self.b)
        self.assertAllClose(metrics.kid(self.a, self.b), want, rtol=1e-9)
        # 300 and 200 rows in 2 blocks of 150 / 100 rows each.
        want2 = np.mean([_np_kid_block(self.a[:150], self.b[:100]),
                         _np_kid_block(self.a[150:], self.b[100:])])
        self.assertAllClose(metrics.kid(self.a, self.b, max_block_size=150), want2, rtol=1e-9)
        blocks = [_np_kid_block(self.a[:150], self.b[:100]), _np_kid_block(self.a[150:],
                                                                           self.b[100:])]
        _, std = metrics.kid(self.a, self.b, max_block_size=150, return_std=True)
        self.assertAllClose(std, np.std(blocks, ddof=1) / np.sqrt(2), rtol=1e-9)
        self.assertTrue(np.isnan(metrics.kid(self.a, self.b, return_std=True)[1]))

    def test_kid_accepts_float32_numpy(self):
        got = metrics.kid(self.a.astype(np.float32), self.b.astype(np.float32))
        self.assertAllClose(got, _np_kid_block(self.a, self.b), rtol=1e-4)


class CompatTest(tf.test.TestCase):

    def test_tfgan_imports_once_and_leaves_no_estimator_behind(self):
        module = tfgan_compat.tfgan()
        self.assertIs(module, tfgan_compat.tfgan())
        self.assertTrue(callable(module.eval.classifier_score_from_logits))
        self.assertFalse(hasattr(tf, "estimator"))
        self.assertFalse(hasattr(tf.compat.v1, "estimator"))

    def test_placeholders_fill_only_missing_names_and_are_removed(self):
        real_hook = type("SessionRunHook", (), {})
        fake_tf = types.SimpleNamespace(
            estimator=types.SimpleNamespace(SessionRunHook=real_hook),
            compat=types.SimpleNamespace(v1=types.SimpleNamespace()))
        added = tfgan_compat._install_placeholders(fake_tf)
        self.assertIs(fake_tf.estimator.SessionRunHook, real_hook)
        with self.assertRaisesRegex(tfgan_compat.EstimatorUnavailableError, "no tf.estimator"):
            fake_tf.estimator.Estimator()
        self.assertTrue(hasattr(fake_tf.compat.v1.estimator.tpu, "TPUEstimator"))
        tfgan_compat._remove_placeholders(added)
        self.assertFalse(hasattr(fake_tf.estimator, "Estimator"))
        self.assertFalse(hasattr(fake_tf.compat.v1, "estimator"))
        self.assertIs(fake_tf.estimator.SessionRunHook, real_hook)


# --- classifiers ------------------------------------------------------------------------------


class ClassifierTest(tf.test.TestCase):

    def test_adapt_images_tiles_grey_and_resizes(self):
        grey = tf.constant(_images(2, size=4))
        out = classifiers.adapt_images(grey, 8, 8, 3)
        self.assertEqual(out.shape, (2, 8, 8, 3))
        self.assertAllEqual(out[..., 0], out[..., 2])
        want = tf.image.resize(grey, [8, 8], method="bilinear")[..., 0]
        self.assertAllClose(out[..., 1], want)
        rgb = tf.constant(np.random.RandomState(0).uniform(-1, 1, (2, 4, 4, 3)), tf.float32)
        self.assertEqual(classifiers.adapt_images(rgb, None, None, 1).shape, (2, 4, 4, 1))

    def test_keras_classifier_interface(self):
        model = _tiny_cnn()
        clf = classifiers.KerasClassifier(model, display_name="tiny classifier")
        images = _images(5, size=4)  # adapted to the model's 8x8
        logits, feats = clf(images)
        self.assertEqual(logits.shape, (5, 4))
        self.assertEqual(feats.shape, (5, 6))
        want_logits, want_feats = model(tf.image.resize(images, [8, 8]), training=False)
        self.assertAllClose(logits, want_logits, atol=1e-6)
        self.assertAllClose(feats, want_feats, atol=1e-6)
        self.assertEqual(clf.qualify("FID"), "FID (tiny classifier)")
        self.assertEqual(clf.slug, "tiny_classifier")

    def test_keras_classifier_features_layer_and_identity(self):
        full = _tiny_cnn()
        logits_only = keras.Model(full.inputs, full.outputs[0], name="tiny")
        clf = classifiers.KerasClassifier(logits_only, features_layer="features")
        _, feats = clf(_images(3, size=8))
        self.assertAllClose(feats, full(_images(3, size=8))[1], atol=1e-6)
        before = clf.identity
        self.assertEqual(before, classifiers.KerasClassifier(logits_only,
                                                             features_layer="features").identity)
        w = full.get_layer("logits").kernel
        w.assign(w + 1.0)
        self.assertNotEqual(before, classifiers.KerasClassifier(
            logits_only, features_layer="features").identity)

    def test_saved_model_classifier_reproduces_keras_and_reads_metadata(self):
        model = _tiny_cnn()
        path, meta = small_classifier.export_classifier(
            model, os.path.join(self.get_temp_dir(), "clf"),
            {"display_name": "tiny classifier", "test_accuracy": 0.5})
        clf = classifiers.SavedModelClassifier(path)
        images = _images(4, size=8)
        logits, feats = clf(images)
        want = model(images, training=False)
        self.assertAllClose(logits, want[0], atol=1e-5)
        self.assertAllClose(feats, want[1], atol=1e-5)
        self.assertEqual(clf.identity, meta["identity"])
        self.assertEqual(clf.input_shape, (8, 8, 1))
        self.assertEqual(clf.qualify("FID"), "FID (tiny classifier)")
        # Without metadata the identity is a digest of the files, stable across loads.
        os.remove(os.path.join(path, classifiers.METADATA_FILENAME))
        a = classifiers.SavedModelClassifier(path).identity
        self.assertStartsWith(a, "savedmodel:clf:")
        self.assertEqual(a, classifiers.SavedModelClassifier(path).identity)

    def test_saved_model_classifier_errors(self):
        with self.assertRaisesRegex(classifiers.ClassifierError, "no SavedModel"):
            classifiers.SavedModelClassifier(self.get_temp_dir())
        path, _ = small_classifier.export_classifier(
            _tiny_cnn(), os.path.join(self.get_temp_dir(), "c2"), {})
        with self.assertRaisesRegex(classifiers.ClassifierError, "pool_3.*outputs"):
            classifiers.SavedModelClassifier(path, features_key="pool_3")


def _fake_inception(path):
    """A SavedModel with Inception's call interface: 299x299x3 -> {logits, pool_3}."""
    module = tf.Module()

    @tf.function(input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)])
    def call(images):
        pooled = tf.reduce_mean(images, axis=[1, 2])  # [N, 3]
        return {"logits": tf.concat([pooled, -pooled], 1), "pool_3": pooled[:, None, None, :]}

    module.__call__ = call
    tf.saved_model.save(module, path)
    return path


class InceptionClassifierTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.cache = os.path.join(self.get_temp_dir(), "hub_cache")
        os.makedirs(self.cache, exist_ok=True)
        self.env = mock.patch.dict(os.environ, {"TFHUB_CACHE_DIR": self.cache})
        self.env.start()
        self.addCleanup(self.env.stop)
        self.net = mock.patch("socket.create_connection", side_effect=_no_network)
        self.net.start()
        self.addCleanup(self.net.stop)

    def test_unreachable_hub_fails_fast_and_names_the_offline_options(self):
        # Fast: one probe, no download attempt (the mocks say so; no clock, which load skews).
        with mock.patch.object(classifiers, "_host_reachable", return_value=False) as probe:
            with self.assertRaises(classifiers.ClassifierError) as ctx:
                classifiers.InceptionClassifier()
        probe.assert_called_once()
        message = str(ctx.exception)
        for needle in ("unreachable", "TFHUB_CACHE_DIR", "local copy", "--classifier_path",
                       self.cache):
            self.assertIn(needle, message)

    def test_probe_is_a_bounded_tcp_connect(self):
        with mock.patch("socket.create_connection", side_effect=OSError("offline")) as conn:
            self.assertFalse(classifiers._host_reachable("https://tfhub.dev/x", timeout=0.5))
        conn.assert_called_once_with(("tfhub.dev", 443), timeout=0.5)

    def test_local_copy_gets_resized_tiled_images(self):
        path = _fake_inception(os.path.join(self.get_temp_dir(), "inception"))
        with mock.patch.object(classifiers, "_host_reachable", side_effect=_no_network):
            clf = classifiers.InceptionClassifier(path)
        images = _images(2, size=4)
        logits, feats = clf(images)
        want = tf.reduce_mean(tf.image.resize(images, [299, 299]), axis=[1, 2])  # [2, 1]
        self.assertEqual(feats.shape, (2, 3))
        self.assertAllClose(feats, tf.tile(want, [1, 3]), atol=1e-5)
        self.assertEqual(logits.shape, (2, 6))
        self.assertEqual(clf.identity, classifiers.INCEPTION_IDENTITY)
        self.assertEqual(clf.qualify("FID"), "FID")

    def test_cached_url_loads_through_tfhub_without_probing(self):
        _fake_inception(classifiers.hub_cache_path(classifiers.INCEPTION_URL))
        with mock.patch.object(classifiers, "_host_reachable", side_effect=_no_network):
            clf = classifiers.InceptionClassifier()
        self.assertEqual(clf(_images(1))[1].shape, (1, 3))

    def test_missing_local_path(self):
        with self.assertRaisesRegex(classifiers.ClassifierError, "not a directory"):
            classifiers.InceptionClassifier(os.path.join(self.get_temp_dir(), "nope"))


# --- features, statistics, evaluator ------------------------------------------------------------


def _generator(num_classes=3, seed=0):
    keras.utils.set_random_seed(seed)
    g = TinyGenerator(z_dim=4, num_classes=num_classes, size=4)
    g(tf.zeros([1, 4]), tf.zeros([1], tf.int32))
    return lambda z, labels: g(z, labels, training=False)


def _pixel_classifier():
    """Logits = the 16 pixels' first 3, features = all 16 pixels: a transparent classifier."""
    inputs = keras.Input((4, 4, 1))
    flat = keras.layers.Flatten()(inputs)
    return classifiers.KerasClassifier(
        keras.Model(inputs, [flat[:, :3] * 3.0, flat], name="pixels"),
        display_name="pixel classifier")


class FeaturesTest(tf.test.TestCase):

    def test_truncation_zero_gives_identical_images_for_a_fixed_label(self):
        g = _generator()
        batches = list(features.sample_batches(g, 10, 4, 3, batch_size=4, truncation=0.0,
                                               label=1))
        images = np.concatenate([b[0] for b in batches])
        self.assertEqual(images.shape[0], 10)
        self.assertAllClose(images, np.repeat(images[:1], 10, 0), atol=0)
        self.assertAllEqual(np.concatenate([b[1] for b in batches]), [1] * 10)
        full = np.concatenate([b[0] for b in features.sample_batches(g, 10, 4, 3, batch_size=4,
                                                                     label=1)])
        self.assertGreater(np.abs(full - full[:1]).max(), 1e-3)

    def test_samples_are_seeded_and_labels_uniform(self):
        g = _generator()
        run = lambda seed: list(features.sample_batches(g, 300, 4, 3, batch_size=100,
                                                       seed=seed))
        a, b, c = run(0), run(0), run(1)
        self.assertAllClose(a[0][0], b[0][0])
        self.assertNotAllClose(a[0][0], c[0][0])
        labels = np.concatenate([x[1] for x in a])
        self.assertAllEqual(sorted(set(labels.tolist())), [0, 1, 2])
        self.assertAllInRange(np.bincount(labels), 70, 130)

    def test_latent_transform_and_unconditional(self):
        seen = []

        def transform(z, labels):
            seen.append(labels)
            return tf.zeros_like(z)

        g = _generator(num_classes=0)
        out = features.generated_outputs(g, _pixel_classifier(), 5, 4, 0, batch_size=2,
                                         latent_transform=transform, progress=False)
        self.assertEqual(out.num_images, 5)
        self.assertIsNone(out.labels)
        self.assertEqual(seen, [None] * 3)
        self.assertAllClose(out.features, np.repeat(out.features[:1], 5, 0))

    def test_dataset_outputs_stop_at_max_images_and_report_progress(self):
        ds = tf.data.Dataset.from_tensor_slices((_images(10), np.arange(10) % 3)).batch(4)
        stream = io.StringIO()
        with mock.patch.object(features.sys, "stderr", stream):
            out = features.dataset_outputs(ds, _pixel_classifier(), max_images=6)
        self.assertEqual(out.num_images, 6)
        self.assertAllClose(out.features, _images(10)[:6].reshape(6, 16))
        self.assertAllEqual(out.labels, [0, 1, 2, 0, 1, 2])
        self.assertIn("6/6 images", stream.getvalue())
        self.assertIn("ETA", stream.getvalue())


class StatsTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.images = _images(64, seed=3)
        self.labels = np.arange(64) % 4
        self.ds = tf.data.Dataset.from_tensor_slices((self.images, self.labels)).batch(16)
        self.clf = _pixel_classifier()
        self.cache = os.path.join(self.get_temp_dir(), "stats")

    def test_record_matches_numpy(self):
        rec = stats.compute_real_stats(self.ds, self.clf, "train", kid_rows=10,
                                       per_class=True, progress=False, dataset_name="toy")
        flat = self.images.reshape(64, 16).astype(np.float64)
        self.assertAllClose(rec["mu"], flat.mean(0))
        self.assertAllClose(rec["sigma"], np.cov(flat, rowvar=False))
        self.assertEqual(rec["kid_features"].shape, (10, 16))
        self.assertEqual(len({tuple(r) for r in rec["kid_features"]}), 10)  # no repeats
        self.assertEqual(rec["num_images"], 64)
        self.assertAllEqual(rec["class_counts"], [16] * 4)
        self.assertAllClose(rec["class_mu"][2], flat[self.labels == 2].mean(0))
        self.assertAllClose(rec["class_sigma"][3], np.cov(flat[self.labels == 3], rowvar=False))

    def test_cache_round_trip_and_wrong_identity_refused(self):
        rec, path = stats.load_or_compute(self.ds, self.clf, "train", cache_dir=self.cache,
                                          progress=False, dataset_name="toy")
        self.assertEqual(os.path.dirname(path), self.cache)
        self.assertIn(stats.identity_hash(self.clf.identity), os.path.basename(path))
        self.assertStartsWith(os.path.basename(path), "toy_train_")
        with mock.patch.object(stats, "compute_real_stats", side_effect=AssertionError):
            again, again_path = stats.load_or_compute(self.ds, self.clf, "train",
                                                      cache_dir=self.cache, dataset_name="toy")
        self.assertEqual(again_path, path)
        for key in ("mu", "sigma", "kid_features"):
            self.assertAllEqual(again[key], rec[key])
        for key in ("classifier", "dataset", "split", "num_images", "is_mean"):
            self.assertEqual(again[key], rec[key])
        self.assertIsInstance(again["classifier"], str)
        with self.assertRaisesRegex(stats.StatsError, "other-net.*not comparable"):
            stats.load_stats(path, classifier_identity="other-net")

    def test_augmenting_source_refused(self):
        source = types.SimpleNamespace(name="aug", _augment=True, make=None)
        with self.assertRaisesRegex(stats.StatsError, "augment=False"):
            stats.compute_real_stats(source, self.clf, "train")

    def test_corrupt_or_missing_file(self):
        bad = os.path.join(self.get_temp_dir(), "bad.npz")
        with open(bad, "wb") as f:
            f.write(b"not a zip")
        with self.assertRaisesRegex(stats.StatsError, "not a statistics file"):
            stats.load_stats(bad)
        with self.assertRaisesRegex(stats.StatsError, "no statistics file"):
            stats.load_stats(bad + ".missing")


class EvaluatorTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.clf = _pixel_classifier()
        # "Real" data: the same generator, other latents; a fake set with other weights is worse.
        real = np.concatenate([b[0] for b in features.sample_batches(
            _generator(), 600, 4, 3, batch_size=200, seed=99)])
        self.ds = tf.data.Dataset.from_tensor_slices(
            (real, np.arange(600) % 3)).batch(100)
        self.cache = os.path.join(self.get_temp_dir(), "stats")

    def _evaluator(self, **kwargs):
        return evaluator_lib.Evaluator(classifier=self.clf, num_samples=300, splits=3,
                                       batch_size=100, real_data=self.ds, real_split="train",
                                       stats_cache_dir=self.cache, progress=False, **kwargs)

    def test_a_data_source_class_is_built_by_the_evaluator(self):
        """`Evaluator.real_data = @eval/ImageFolder` (no parentheses) hands the evaluator the
        class: it must build it, not take the class for a data source."""
        real = self.ds
        built = []

        class RealData:  # a data source whose `name` is a property, as ImageFolder's is
            augment = False

            def __init__(self):
                built.append(self)

            @property
            def name(self):
                return "real_data"

            def make(self, batch_size, seed=0, repeat=False, **kwargs):
                del seed, repeat, kwargs
                return real.unbatch().batch(batch_size)

        ev = self._evaluator()
        ev.real_data = RealData
        self.assertEqual(ev.real_stats["num_images"], 600)
        self.assertLen(built, 1)
        self.assertEqual(ev.real_stats["dataset"], "real_data")

    def test_evaluate_returns_metrics_consistent_with_the_parts(self):
        ev = self._evaluator()
        good = ev.evaluate(_generator(), 4, 3, seed=5)
        for key in ("is_mean", "is_std", "fid", "kid", "classifier", "num_samples", "seconds"):
            self.assertIn(key, good)
        self.assertEqual(good["classifier"], self.clf.identity)
        self.assertEqual(good["classifier_name"], "pixel classifier")
        gen = features.generated_outputs(_generator(), self.clf, 300, 4, 3, batch_size=100,
                                         seed=5, progress=False)
        real = ev.real_stats
        self.assertAllClose(good["fid"], metrics.fid_from_stats(
            real["mu"], real["sigma"], *metrics.activation_stats(gen.features)), rtol=1e-9)
        self.assertAllClose(good["kid"], metrics.kid(real["kid_features"], gen.features))
        self.assertAllClose((good["is_mean"], good["is_std"]),
                            metrics.inception_score(gen.logits, 3))
        self.assertAllClose(ev.evaluate(_generator(), 4, 3, seed=5)["fid"], good["fid"])
        bad = ev.evaluate(_generator(seed=7), 4, 3, seed=5)
        self.assertGreater(bad["fid"], 2 * good["fid"])

    def test_final_evaluation_counts_and_fid_on_the_first_samples(self):
        """The FastGAN paper's CIFAR convention: IS on every generated image of the final
        evaluation, FID and KID on the first `fid_num_samples`; training-time evaluations use
        `num_samples`."""
        ev = self._evaluator(final_num_samples=600, fid_num_samples=200)
        self.assertEqual((ev.sample_counts(False), ev.sample_counts(True)), ((300, 200),
                                                                             (600, 200)))
        real = ev.prepare().real_stats
        for final, n in ((False, 300), (True, 600)):
            res = ev.evaluate(_generator(), 4, 3, seed=5, final=final)
            gen = features.generated_outputs(_generator(), self.clf, n, 4, 3, batch_size=100,
                                             seed=5, progress=False)
            self.assertEqual((res["num_samples"], res["fid_num_samples"]), (n, 200))
            self.assertAllClose((res["is_mean"], res["is_std"]),
                                metrics.inception_score(gen.logits, 3))
            self.assertAllClose(res["fid"], metrics.fid_from_stats(
                real["mu"], real["sigma"], *metrics.activation_stats(gen.features[:200])),
                rtol=1e-9)
            self.assertAllClose(res["kid"], metrics.kid(real["kid_features"],
                                                        gen.features[:200]))
            self.assertIn(f"generated: {n} (IS), first 200 (FID)", res["convention"])
        plain = self._evaluator().evaluate(_generator(), 4, 3, seed=5, final=True)
        self.assertEqual((plain["num_samples"], plain["fid_num_samples"]), (300, 300))
        self.assertIn("generated: 300;", plain["convention"])
        for bad in ({"final_num_samples": 1}, {"fid_num_samples": 0.5}):
            with self.assertRaisesRegex(ValueError, f"Evaluator.{next(iter(bad))} must be"):
                self._evaluator(**bad)

    def test_per_class_precision_and_recall_on_the_labelled_feature_sample(self):
        ev = self._evaluator()
        res = ev.evaluate(_generator(), 4, 3, seed=5)
        real = ev.real_stats
        self.assertEqual(real["kid_labels"].shape, (len(real["kid_features"]),))
        self.assertEqual(np.bincount(real["kid_labels"]).tolist(), [200, 200, 200])
        gen = features.generated_outputs(_generator(), self.clf, 300, 4, 3, batch_size=100,
                                         seed=5, progress=False)
        for c in range(3):
            expect = manifold.precision_recall(real["kid_features"][real["kid_labels"] == c],
                                               gen.features[gen.labels == c], k=3)
            self.assertAllClose((res["class_precision"][c], res["class_recall"][c]),
                                (expect["precision"], expect["recall"]))
        # A generator that draws one flat image for class 2 and is unchanged otherwise: class
        # 2's precision and recall fall to 0, the other classes' stay exactly as they were.
        base = _generator()

        def broken(z, labels):
            images = base(z, labels)
            return tf.where(tf.reshape(labels == 2, [-1, 1, 1, 1]), tf.ones_like(images),
                            images)

        bad = ev.evaluate(broken, 4, 3, seed=5)
        self.assertEqual((bad["class_precision"][2], bad["class_recall"][2]), (0.0, 0.0))
        self.assertAllClose(bad["class_precision"][:2], res["class_precision"][:2])
        self.assertAllClose(bad["class_recall"][:2], res["class_recall"][:2])

    def test_truncation_zero_collapses_the_samples(self):
        ev = self._evaluator()
        res = ev.evaluate(_generator(), 4, 3, truncation=0.0)
        self.assertEqual(res["truncation"], 0.0)
        self.assertGreater(res["fid"], ev.evaluate(_generator(), 4, 3)["fid"])

    def test_intra_class_gives_one_fid_per_class(self):
        res = self._evaluator(intra_class=True).evaluate(_generator(), 4, 3)
        self.assertLen(res["intra_fid"], 3)
        self.assertTrue(all(np.isfinite(res["intra_fid"])))
        self.assertAllClose(res["intra_fid_mean"], np.mean(res["intra_fid"]))

    def test_needs_real_statistics(self):
        ev = evaluator_lib.Evaluator(classifier=self.clf, num_samples=10, splits=2)
        with self.assertRaisesRegex(ValueError, "real_stats_path"):
            ev.evaluate(_generator(), 4, 3)

    def test_stats_of_another_classifier_refused(self):
        _, path = stats.load_or_compute(self.ds, _pixel_classifier(), "train",
                                        path=os.path.join(self.cache, "s.npz"), progress=False)
        other = classifiers.KerasClassifier(_tiny_cnn(size=4, classes=3))
        ev = evaluator_lib.Evaluator(classifier=other, num_samples=10, splits=2,
                                     real_stats_path=path)
        with self.assertRaisesRegex(stats.StatsError, "not comparable"):
            ev.prepare()


class ClassAccuracyTest(tf.test.TestCase):

    def test_fraction_of_samples_classified_as_their_label(self):
        logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
        # argmax 0, 1, 0, 2 against labels 0, 2, 0, 2: three of four.
        self.assertEqual(evaluator_lib.class_accuracy(logits, [0, 2, 0, 2], 3), 0.75)
        self.assertIsNone(evaluator_lib.class_accuracy(logits, None, 3))  # unconditional
        self.assertIsNone(evaluator_lib.class_accuracy(logits, [0, 2, 0, 2], 10))  # other classes

    def test_evaluate_reports_it(self):
        clf = _pixel_classifier()
        real = np.concatenate([b[0] for b in features.sample_batches(
            _generator(), 200, 4, 3, batch_size=100, seed=99)])
        ev = evaluator_lib.Evaluator(
            classifier=clf, num_samples=200, splits=2, batch_size=100,
            real_data=tf.data.Dataset.from_tensor_slices((real, np.arange(200) % 3)).batch(100),
            stats_cache_dir=os.path.join(self.get_temp_dir(), "stats"), progress=False)
        result = ev.evaluate(_generator(), 4, 3, seed=5)
        gen = features.generated_outputs(_generator(), clf, 200, 4, 3, batch_size=100, seed=5,
                                         progress=False)
        self.assertEqual(result["class_acc"],
                         float(np.mean(gen.logits.argmax(1) == gen.labels)))


class PackagedAssetsTest(tf.test.TestCase):
    """The Fashion-MNIST classifier and statistics that ship inside the package."""

    def test_classifier_matches_its_statistics_and_recognises_real_test_images(self):
        from tfgan_fast.data import FashionMNIST  # pylint: disable=import-outside-toplevel
        from tfgan_fast.eval import packaged  # pylint: disable=import-outside-toplevel

        clf = classifiers.SavedModelClassifier(packaged.packaged_classifier_path())
        self.assertEqual(clf.display_name, "fashion-mnist classifier")
        record = stats.load_stats(packaged.packaged_stats_path(), clf.identity)
        self.assertEqual((record["dataset"], record["split"], record["num_images"]),
                         ("fashion_mnist", "train", 60000))
        self.assertEqual(record["mu"].shape, (128,))
        test = FashionMNIST(split="test", augment=False, shuffle=False)
        images, labels = next(iter(test.make(1000, repeat=False)))
        logits, _ = clf(images)
        accuracy = float(np.mean(np.argmax(logits, 1) == labels.numpy()))
        self.assertGreater(accuracy, 0.88)  # 0.9223 on the whole test split
        # Real test images sit close to the training statistics (the FID floor).
        out = features.dataset_outputs(test.make(500, repeat=False), clf, max_images=2000,
                                       progress=False)
        self.assertLess(metrics.fid_from_stats(record["mu"], record["sigma"],
                                               *metrics.activation_stats(out.features)), 3.0)

    def test_unknown_packaged_names(self):
        from tfgan_fast.eval import packaged  # pylint: disable=import-outside-toplevel
        self.assertEqual(classifiers.make_classifier("packaged:fashion_mnist").path,
                         packaged.packaged_classifier_path())
        with self.assertRaisesRegex(ValueError, "no packaged classifier for dataset 'cifar10'"):
            packaged.packaged_classifier_path("cifar10")
        with self.assertRaisesRegex(ValueError, "'fashion_mnist'/'test'"):
            packaged.packaged_stats_path("fashion_mnist", "test")


# --- callback -----------------------------------------------------------------------------------


class _Counter(keras.Model):
    """A mock run: `fit` advances `iteration` like GANTrainer.train_step does."""

    def __init__(self, start=0):
        super().__init__()
        self.iteration = self.add_weight(name="iteration", shape=(), dtype="int64",
                                         initializer="zeros", trainable=False)
        self.iteration.assign(start)
        self.compile()

    def train_step(self, data):
        self.iteration.assign_add(1)
        return {"loss": tf.constant(0.0)}

    def run(self, steps):
        self.fit(tf.data.Dataset.from_tensors(0.0).repeat(), epochs=1, steps_per_epoch=steps,
                 verbose=0, callbacks=self.callbacks_)


class _ScriptedEvaluator:
    """Returns scripted FIDs; counts `prepare` calls."""

    def __init__(self, fids, classifier):
        self.fids = list(fids)
        self.classifier = classifier
        self.prepared = 0
        self.finals = []
        self.final_counts = None  # (IS, FID) counts of the final evaluation if they differ

    def sample_counts(self, final=False):
        return self.final_counts if final and self.final_counts else (10, 10)

    def prepare(self):
        self.prepared += 1

    def evaluate(self, sample_fn, z_dim, num_classes, seed=0, final=False, **kwargs):
        time.sleep(0.01)
        self.finals.append(final)
        return {"fid": self.fids.pop(0), "is_mean": 2.0, "is_std": 0.1, "kid": 0.01,
                "classifier": self.classifier.identity, "seconds": 0.01}


class CallbackTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.get_temp_dir(), "run")
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        self.clf = _pixel_classifier()
        self.best = []

    def _run(self, fids, steps, start=0, every=2, final_step=None, final_counts=None):
        ev = _ScriptedEvaluator(fids, self.clf)
        ev.final_counts = final_counts
        stream = io.StringIO()
        cb = callback_lib.EvaluationCallback(
            ev, every, self.dir, sample_fn=None, z_dim=4, num_classes=3, seed=0,
            best_checkpoint_fn=lambda step, fid: self.best.append((step, fid)),
            global_batch_size=8, stream=stream, final_step=final_step)
        model = _Counter(start)
        model.callbacks_ = [cb]
        model.run(steps)
        self.assertEqual(ev.prepared, 1)
        self.assertEqual(ev.fids, [], "every scripted evaluation must run")
        self.finals = ev.finals
        return stream.getvalue()

    def test_the_final_evaluation_is_marked_and_another_convention_is_never_best(self):
        self._run([5.0, 3.0, 1.0], steps=6, final_step=6, final_counts=(50, 10))
        self.assertEqual(self.finals, [False, False, True])
        self.assertEqual(self.best, [(2, 5.0), (4, 3.0)])  # 1.0 was measured on 50 images
        self.best.clear()
        self._run([5.0, 1.0], steps=4, final_step=4)  # same counts: the final can be best
        self.assertEqual(self.best, [(2, 5.0), (4, 1.0)])

    def test_the_evaluated_generator_is_named_in_every_record(self):
        ev = _ScriptedEvaluator([5.0, 3.0], self.clf)
        stream = io.StringIO()
        cb = callback_lib.EvaluationCallback(
            ev, 2, self.dir, sample_fn=None, z_dim=4, num_classes=3, seed=0, stream=stream,
            generator_note="EMA of G (decay 0.999 from iteration 0)")
        model = _Counter(0)
        model.callbacks_ = [cb]
        model.run(4)
        rows = callback_lib.read_metrics(os.path.join(self.dir, "metrics.csv"))
        self.assertEqual([r["convention"] for r in rows],
                         ["generator: EMA of G (decay 0.999 from iteration 0)"] * 2)
        self.assertIn("[generator: EMA of G (decay 0.999 from iteration 0)]", stream.getvalue())

    def _rows(self):
        with open(os.path.join(self.dir, "metrics.csv"), newline="") as f:
            return list(csv.reader(f))

    def test_csv_best_checkpoint_and_resume(self):
        log = self._run([5.0, 3.0, 4.0, 2.0], steps=8)
        rows = self._rows()
        self.assertEqual(rows[0], list(callback_lib.CSV_COLUMNS))
        self.assertEqual([int(r[0]) for r in rows[1:]], [2, 4, 6, 8])
        self.assertEqual([int(r[2]) for r in rows[1:]], [16, 32, 48, 64])
        self.assertEqual({r[7] for r in rows[1:]}, {self.clf.identity})
        self.assertEqual(self.best, [(2, 5.0), (4, 3.0), (8, 2.0)])
        self.assertIn("evaluation at iteration 4: FID (pixel classifier) 3.00, "
                      "IS (pixel classifier) 2.00±0.10", log)
        self.assertIn("took 0 s", log)
        # Resume at 8: one header, steps go on, wall clock continues, best compares with 2.0.
        self._run([2.5, 1.0], steps=4, start=8)
        rows = self._rows()
        self.assertEqual(sum(r == list(callback_lib.CSV_COLUMNS) for r in rows), 1)
        self.assertEqual([int(r[0]) for r in rows[1:]], [2, 4, 6, 8, 10, 12])
        wall = [float(r[1]) for r in rows[1:]]
        self.assertEqual(wall, sorted(wall))
        self.assertGreater(wall[0], 0.0)
        self.assertEqual(self.best[3:], [(12, 1.0)])

    def test_resume_from_an_older_checkpoint_drops_later_rows(self):
        self._run([5.0, 4.0, 3.0], steps=6)
        self.best.clear()
        self._run([3.5], steps=2, start=2)  # checkpoint at 2: rows 4 and 6 are redone
        rows = self._rows()
        self.assertEqual([int(r[0]) for r in rows[1:]], [2, 4])
        self.assertEqual(self.best, [(4, 3.5)])  # compared with row 2 (5.0), not the dropped 3.0
        wall = [float(r[1]) for r in rows[1:]]
        self.assertLess(wall[0], wall[1])

    def test_a_checkpoint_saved_before_its_evaluation_is_evaluated_on_resume(self):
        # Checkpoints are written before evaluations: a kill between the two leaves
        # iteration 4 checkpointed but not evaluated.
        self._run([5.0, 4.0], steps=4)
        rows = self._rows()
        with open(os.path.join(self.dir, "metrics.csv"), "w", newline="") as f:
            csv.writer(f).writerows(rows[:-1])
        self._run([3.0, 2.0], steps=2, start=4)  # evaluates 4 at the start, then 6
        self.assertEqual([int(r[0]) for r in self._rows()[1:]], [2, 4, 6])

    def test_an_older_metrics_file_gains_the_newer_columns(self):
        old_columns = list(callback_lib.CSV_COLUMNS[:9])
        self.assertEqual(callback_lib.CSV_COLUMNS[9:],
                         ("class_acc", "precision", "recall", "density", "coverage",
                          "convention"))
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "metrics.csv"), "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(old_columns)
            writer.writerow([2, 1.5, 16, 2.0, 0.1, 5.0, 0.01, self.clf.identity, 0.01])
        self._run([4.0], steps=2, start=2)
        rows = callback_lib.read_metrics(os.path.join(self.dir, "metrics.csv"))
        self.assertEqual([(r["step"], r["fid"], r["class_acc"], r["recall"]) for r in rows],
                         [(2, 5.0, None, None), (4, 4.0, None, None)])
        self.assertEqual(self._rows()[0], list(callback_lib.CSV_COLUMNS))

    def test_tensorboard_scalars_and_classifier_names(self):
        self._run([5.0], steps=2)
        tags = set()
        for event_file in tf.io.gfile.glob(os.path.join(self.dir, "eval", "events.*")):
            for event in tf.compat.v1.train.summary_iterator(event_file):
                tags.update(v.tag for v in event.summary.value)
        self.assertEqual(tags, {"eval/pixel_classifier/fid", "eval/pixel_classifier/is_mean",
                                "eval/pixel_classifier/is_std", "eval/pixel_classifier/kid",
                                "eval/seconds"})
        self.assertEqual(callback_lib.read_classifier_names(self.dir),
                         {self.clf.identity: "pixel classifier"})

    def test_real_evaluator_on_a_mock_run(self):
        ds = tf.data.Dataset.from_tensor_slices((_images(200, seed=4), np.arange(200) % 3))
        ev = evaluator_lib.Evaluator(classifier=self.clf, num_samples=100, splits=2,
                                     batch_size=50, real_data=ds.batch(50), progress=False,
                                     stats_cache_dir=os.path.join(self.dir, "cache"))
        cb = callback_lib.EvaluationCallback(ev, 2, self.dir, _generator(), 4, 3, seed=0,
                                             global_batch_size=4, stream=io.StringIO())
        model = _Counter()
        model.callbacks_ = [cb]
        model.run(3)  # evaluates at 2, and at the end (3)
        rows = callback_lib.read_metrics(os.path.join(self.dir, "metrics.csv"))
        self.assertEqual([r["step"] for r in rows], [2, 3])
        self.assertTrue(all(np.isfinite(r["fid"]) and r["fid"] > 0 for r in rows))
        self.assertEqual(rows[0]["classifier"], self.clf.identity)
        for r in rows:  # precision ... coverage on 100 generated vs 100 of the real features
            for key in ("precision", "recall", "coverage"):
                self.assertBetween(r[key], 0.0, 1.0)
            self.assertGreaterEqual(r["density"], 0.0)
        self.assertEqual(cb.last_result["manifold_samples"], 100)

    def test_curves_refuse_mixed_classifiers(self):
        self._run([5.0, 3.0], steps=4)
        other = os.path.join(self.get_temp_dir(), "other")
        os.makedirs(other, exist_ok=True)
        with open(os.path.join(other, "metrics.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(callback_lib.CSV_COLUMNS)
            w.writerow([2, 1.5, 16, 2.0, 0.1, 9.0, 0.1, "tfhub:inception", 1.0])
        got, identity = curves.load_curves([self.dir], "fid", "images")
        self.assertEqual(identity, self.clf.identity)
        self.assertEqual(got[0][1:3], ([16.0, 32.0], [5.0, 3.0]))
        self.assertEqual(curves.display_name(identity, [self.dir]), "pixel classifier")
        with self.assertRaisesRegex(ValueError, "different classifiers"):
            curves.load_curves([self.dir, other], "fid", "seconds")
        got, _ = curves.load_curves([other], "fid", "steps", classifier="tfhub:inception")
        self.assertEqual(got[0][1:3], ([2.0], [9.0]))
        with self.assertRaisesRegex(ValueError, "no rows"):
            curves.load_curves([self.dir], "fid", "steps", classifier="tfhub:inception")


if __name__ == "__main__":
    tf.test.main()
