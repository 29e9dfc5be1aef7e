"""Tests of tfgan_fast.data: IDX files, Fashion-MNIST, the quickstart subset, TFDS, augmentation.

Nothing here touches the network: the TFDS download probe is always patched, and TFDS data come
from `tfds.testing.mock_data`.
"""
import gzip
import os
import struct
import time
import types
from unittest import mock

import gin
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tests.support import load_script, offline
from tfgan_fast import data
from tfgan_fast.data import augment
from tfgan_fast.data import base
from tfgan_fast.data import fashion_mnist
from tfgan_fast.data import idx
from tfgan_fast.data import spec as spec_lib
from tfgan_fast.data import tfds_images

_CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"


def _write_fake_fashion(directory, images, labels, split="train"):
    """Writes `images` uint8 [N, 28, 28] and `labels` uint8 [N] as Fashion-MNIST IDX files."""
    os.makedirs(directory, exist_ok=True)
    image_name, label_name = fashion_mnist._FILES[split]
    idx.write_idx(os.path.join(directory, image_name), np.asarray(images, np.uint8))
    idx.write_idx(os.path.join(directory, label_name), np.asarray(labels, np.uint8))
    return directory


def _id_images(n):
    """Image i is filled with the value 10 * i, so a pixel tells which example it came from."""
    return np.broadcast_to((10 * np.arange(n, dtype=np.uint8))[:, None, None], (n, 28, 28)).copy()


def _ids(images):
    """Recovers the example ids of `_id_images` from scaled images `[b, 32, 32, 1]` (no augment)."""
    centre = (np.asarray(images)[:, 16, 16, 0] + 1.0) * 127.5
    return np.round(centre / 10.0).astype(int).tolist()


class IdxTest(tf.test.TestCase):

    def test_round_trip_gzip_and_raw(self):
        tmp = self.get_temp_dir()
        arrays = {
            "u8.gz": np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
            "i32": np.array([[-7, 0, 2 ** 31 - 1]], dtype=np.int32),
            "f32.gz": np.array([1.5, -2.25, 3e-3], dtype=np.float32),
        }
        for name, array in arrays.items():
            path = os.path.join(tmp, name)
            idx.write_idx(path, array)
            back = data.read_idx(path)
            self.assertEqual(back.dtype, array.dtype.newbyteorder("="))
            self.assertEqual(back.shape, array.shape)
            np.testing.assert_array_equal(back, array)
        # Header of the uint8 file: magic 0x00000803, then the sizes 2, 3, 4 big-endian.
        with gzip.open(os.path.join(tmp, "u8.gz"), "rb") as f:
            self.assertEqual(f.read(16), struct.pack(">IIII", 0x0803, 2, 3, 4))

    def test_gzip_output_is_byte_reproducible(self):
        tmp = self.get_temp_dir()
        array = np.arange(100, dtype=np.uint8)
        idx.write_idx(os.path.join(tmp, "a.gz"), array)
        time.sleep(1.1)  # a header carrying the clock would now differ
        idx.write_idx(os.path.join(tmp, "b.gz"), array)
        with open(os.path.join(tmp, "a.gz"), "rb") as a, open(os.path.join(tmp, "b.gz"), "rb") as b:
            bytes_a = a.read()
            self.assertEqual(bytes_a, b.read())
        self.assertEqual(bytes_a[4:8], b"\0\0\0\0")  # gzip mtime field

    def test_bad_magic_names_the_file(self):
        path = os.path.join(self.get_temp_dir(), "bad-magic.gz")
        with gzip.open(path, "wb") as f:
            f.write(struct.pack(">II", 0x01000801, 1) + b"\x03")
        with self.assertRaisesRegex(data.DataError, r"bad-magic\.gz.*bad magic number 0x01000801"):
            data.read_idx(path)

    def test_wrong_magic_and_truncated_data_name_the_file(self):
        tmp = self.get_temp_dir()
        labels = os.path.join(tmp, "labels.gz")
        idx.write_idx(labels, np.zeros([3], np.uint8))
        with self.assertRaisesRegex(data.DataError, r"labels\.gz has magic number 2049.*2051"):
            data.read_idx(labels, expected_magic=idx.IMAGES_MAGIC)
        short = os.path.join(tmp, "short")
        with open(short, "wb") as f:
            f.write(struct.pack(">III", 0x0802, 2, 2) + b"\0" * 3)  # ubyte [2, 2]: needs 4 bytes
        with self.assertRaisesRegex(data.DataError, r"short holds 3 data bytes .* needs 4"):
            data.read_idx(short)


class FashionMNISTTest(tf.test.TestCase):

    def test_pads_with_background_and_keeps_labels(self):
        tmp = self.get_temp_dir()
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, size=(8, 28, 28), dtype=np.uint8)
        labels = np.array([3, 1, 4, 1, 5, 9, 2, 6], np.uint8)
        _write_fake_fashion(tmp, images, labels)
        source = data.FashionMNIST(data_dir=tmp, augment=False, shuffle=False)
        self.assertEqual(source.num_classes, 10)
        self.assertEqual(source.image_shape, (32, 32, 1))
        self.assertEqual(source.name, "fashion_mnist")
        batches = list(source.make(4, repeat=False))
        self.assertLen(batches, 2)
        x = np.concatenate([b[0] for b in batches])
        y = np.concatenate([b[1] for b in batches])
        self.assertEqual(batches[0][0].shape, (4, 32, 32, 1))
        self.assertEqual(batches[0][0].dtype, tf.float32)
        self.assertEqual(batches[0][1].dtype, tf.int32)
        np.testing.assert_array_equal(y, labels)
        # 2-pixel border of background (-1), then the images scaled to [-1, 1].
        border = np.ones([32, 32], bool)
        border[2:30, 2:30] = False
        np.testing.assert_array_equal(x[:, border, 0], -1.0)
        self.assertAllClose(x[:, 2:30, 2:30, 0], images / 127.5 - 1.0, atol=1e-6)

    def test_fraction_keeps_the_first_examples_of_each_class(self):
        labels = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 2], np.uint8)
        images = np.arange(10, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8)
        tmp = _write_fake_fashion(self.get_temp_dir(), images, labels)
        source = data.FashionMNIST(data_dir=tmp, augment=False, shuffle=False, fraction=0.4)
        # round(0.4 * 5) = 2 of classes 0 and 1, max(1, round(0.4)) = 1 of class 2, file order.
        self.assertEqual((source.num_examples, source.name), (5, "fashion_mnist[0.4]"))
        x, y = next(iter(source.make(5, repeat=False)))
        np.testing.assert_array_equal(y, [0, 1, 0, 1, 2])
        self.assertAllClose(x[:, 16, 16, 0], np.array([0, 1, 2, 3, 9]) / 127.5 - 1.0)
        with self.assertRaisesRegex(ValueError, "fraction must lie in \\(0, 1\\], got 0"):
            data.FashionMNIST(data_dir=tmp, fraction=0)

    def test_resize_resolution_and_augmented_range(self):
        tmp = _write_fake_fashion(self.get_temp_dir(), _id_images(4), np.arange(4))
        source = data.FashionMNIST(data_dir=tmp, resolution=16, augment=True, shuffle=False)
        x, y = next(iter(source.make(4)))
        self.assertEqual(x.shape, (4, 16, 16, 1))
        self.assertBetween(float(tf.reduce_min(x)), -1.0, 1.0)
        self.assertBetween(float(tf.reduce_max(x)), -1.0, 1.0)
        # Constant images stay constant under flip, crop and resize.
        self.assertAllClose(x, tf.broadcast_to(tf.reshape(
            tf.constant([0, 10, 20, 30], tf.float32) / 127.5 - 1.0, [4, 1, 1, 1]), x.shape))
        self.assertAllEqual(y, [0, 1, 2, 3])

    def test_bad_label_names_value_and_file(self):
        tmp = _write_fake_fashion(self.get_temp_dir(), _id_images(3), [0, 12, 1])
        with self.assertRaisesRegex(data.DataError,
                                    r"train-labels-idx1-ubyte\.gz: label 12 outside .*\[0, 10\)"):
            data.FashionMNIST(data_dir=tmp)

    def test_pipeline_rejects_out_of_range_label(self):
        ds = tf.data.Dataset.from_tensor_slices(
            (np.zeros([3, 2, 2, 1], np.uint8), np.array([0, 12, 1], np.int64)))
        ds = base.build_pipeline(
            ds, num_classes=10, source_name="fake", preprocess=base.to_unit_range,
            image_shape=(2, 2, 1), batch_size=3, seed=0, input_context=None, repeat=False,
            augment=False, shuffle_buffer=0)
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                    r"fake: label outside the range \[0, 10\).*\[12\]"):
            list(ds)

    def test_missing_dir_names_path_and_remedy(self):
        missing = os.path.join(self.get_temp_dir(), "no-such-dir")
        with self.assertRaisesRegex(data.DataError, "no-such-dir.*no such directory") as cm:
            data.FashionMNIST(data_dir=missing)
        self.assertIn("apt-get install dataset-fashion-mnist", str(cm.exception))
        self.assertIn("keras.datasets.fashion_mnist.load_data()", str(cm.exception))

    def test_default_search_names_every_dir_tried(self):
        tmp = self.get_temp_dir()
        half = os.path.join(tmp, "half")
        os.makedirs(half)
        idx.write_idx(os.path.join(half, "train-images-idx3-ubyte.gz"), _id_images(1))
        dirs = [os.path.join(tmp, "absent"), half]
        with mock.patch.object(fashion_mnist, "default_search_dirs", return_value=dirs):
            with self.assertRaisesRegex(
                    data.DataError,
                    r"absent \(no such directory\); "
                    r".*half \(missing train-labels-idx1-ubyte\.gz\)"):
                data.FashionMNIST()

    def test_sharding_gives_disjoint_halves(self):
        tmp = _write_fake_fashion(self.get_temp_dir(), _id_images(20), np.arange(20) % 10)
        source = data.FashionMNIST(data_dir=tmp, augment=False)
        seen = []
        for pipeline_id in range(2):
            context = tf.distribute.InputContext(
                num_input_pipelines=2, input_pipeline_id=pipeline_id, num_replicas_in_sync=2)
            ids = []
            for x, _ in source.make(2, seed=5, input_context=context, repeat=False):
                ids += _ids(x)
            seen.append(sorted(ids))
        # Each pipeline reads its rows of every global batch: together one epoch, no overlap.
        self.assertLen(seen[0], 10)
        self.assertLen(seen[1], 10)
        self.assertEqual(sorted(seen[0] + seen[1]), list(range(20)))

    def test_same_seed_same_batches(self):
        tmp = _write_fake_fashion(self.get_temp_dir(), np.random.default_rng(1).integers(
            0, 256, size=(40, 28, 28), dtype=np.uint8), np.arange(40) % 10)
        source = data.FashionMNIST(data_dir=tmp, augment=True)

        def first_batches(seed):
            return [(x.numpy(), y.numpy()) for x, y in source.make(8, seed=seed).take(6)]

        a, b, c = first_batches(7), first_batches(7), first_batches(8)
        for (xa, ya), (xb, yb) in zip(a, b):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
        # 6 batches of 8 > 40 examples: the second epoch is also reproducible, and another seed
        # gives another order.
        self.assertFalse(all(np.array_equal(ya, yc) for (_, ya), (_, yc) in zip(a, c)))


class StreamTest(tf.test.TestCase):
    """`data.stream`: the batch at iteration t is a pure function of (seed, t)."""

    def _source(self, n=20, augment=False):
        tmp = _write_fake_fashion(self.get_temp_dir(), _id_images(n), np.arange(n) % 10)
        return data.FashionMNIST(data_dir=tmp, augment=augment)

    def test_every_epoch_is_a_fresh_permutation(self):
        ids = [_ids(x) for x, _ in self._source().make(5, seed=3).take(8)]  # 2 epochs of 20
        first, second = sum(ids[:4], []), sum(ids[4:], [])
        self.assertEqual(sorted(first), list(range(20)))
        self.assertEqual(sorted(second), list(range(20)))
        self.assertNotEqual(first, second)
        self.assertNotEqual(first, list(range(20)))
        # The permutation of epoch e is index_shuffle under the seed (seed, e).
        want = [int(tf.random.experimental.index_shuffle(q, [3, 1], 19)) for q in range(20)]
        self.assertEqual(second, want)

    def test_a_stream_started_at_t_continues_the_whole_stream(self):
        source = self._source(augment=True)  # 20 examples, batch 6: batches straddle epochs
        whole = [(x.numpy(), y.numpy()) for x, y in source.make(6, seed=9).take(10)]
        for start in (1, 3, 7):
            resumed = [(x.numpy(), y.numpy())
                       for x, y in source.make(6, seed=9, start_step=start).take(3)]
            for (xa, ya), (xb, yb) in zip(whole[start:start + 3], resumed):
                np.testing.assert_array_equal(xa, xb)  # crops too: keyed by stream position
                np.testing.assert_array_equal(ya, yb)

    def test_replicas_read_their_rows_of_the_global_batch(self):
        """One pipeline feeding 2 replicas yields, element by element, replica 0's then replica
        1's half of each global batch; two pipelines (workers) split them the same way."""
        source = self._source()
        global_ids = [_ids(x) for x, _ in source.make(8, seed=4).take(3)]
        one = tf.distribute.InputContext(num_input_pipelines=1, input_pipeline_id=0,
                                         num_replicas_in_sync=2)
        halves = [_ids(x) for x, _ in source.make(4, seed=4, input_context=one,
                                                   start_step=1).take(4)]
        self.assertEqual(halves, [global_ids[1][:4], global_ids[1][4:],
                                  global_ids[2][:4], global_ids[2][4:]])
        for worker in range(2):
            context = tf.distribute.InputContext(num_input_pipelines=2,
                                                 input_pipeline_id=worker,
                                                 num_replicas_in_sync=2)
            rows = [_ids(x) for x, _ in source.make(4, seed=4, input_context=context).take(2)]
            self.assertEqual(rows, [g[4 * worker:4 * worker + 4] for g in global_ids[:2]])

    def test_batches_larger_than_the_data_set_fail_clearly(self):
        with self.assertRaisesRegex(data.DataError, "20 examples cannot fill a batch of 32"):
            self._source().make(32)


class QuickstartTest(tf.test.TestCase):

    def test_files_are_balanced_and_small(self):
        directory = fashion_mnist.QUICKSTART_DIR
        total = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))
        self.assertLess(total, 3 * 1024 * 1024)
        for name in ("LICENSE", "README.md"):
            self.assertTrue(os.path.isfile(os.path.join(directory, name)))
        labels = data.read_idx(os.path.join(directory, "train-labels-idx1-ubyte.gz"))
        images = data.read_idx(os.path.join(directory, "train-images-idx3-ubyte.gz"))
        self.assertEqual(images.shape, (5000, 28, 28))
        np.testing.assert_array_equal(np.bincount(labels, minlength=10), [500] * 10)

    def test_loads_and_is_gin_configurable(self):
        source = data.QuickstartFashionMNIST(augment=False, shuffle=False)
        self.assertEqual((source.num_classes, source.image_shape, source.num_examples),
                         (10, (32, 32, 1), 5000))
        x, y = next(iter(source.make(16)))
        self.assertEqual(x.shape, (16, 32, 32, 1))
        self.assertAllEqual(y, data.read_idx(os.path.join(
            fashion_mnist.QUICKSTART_DIR, "train-labels-idx1-ubyte.gz"))[:16])
        self.assertAllEqual(x[:, :2], -tf.ones([16, 2, 32, 1]))
        self.assertGreater(float(tf.reduce_max(x)), 0.9)
        gin.clear_config()
        try:
            gin.parse_config("""
                QuickstartFashionMNIST.resolution = 28
                FashionMNIST.split = 'test'
                TFDSImages.name = 'cifar100'
            """)
            self.assertEqual(data.QuickstartFashionMNIST().image_shape, (28, 28, 1))
        finally:
            gin.clear_config()

    def test_tool_reproduces_shipped_files(self):
        source_dir = "/usr/share/datasets/fashion-mnist"
        if not os.path.isfile(os.path.join(source_dir, "train-labels-idx1-ubyte.gz")):
            self.skipTest("Debian dataset-fashion-mnist not installed")
        make_quickstart_data = load_script("make_quickstart_data")
        images, labels = fashion_mnist.load_fashion_mnist(source_dir, "train")
        keep = make_quickstart_data.select_balanced(labels, per_class=500, seed=0)
        tmp = self.get_temp_dir()
        _write_fake_fashion(tmp, images[keep], labels[keep])
        for name in fashion_mnist._FILES["train"]:
            with open(os.path.join(tmp, name), "rb") as a, open(
                    os.path.join(fashion_mnist.QUICKSTART_DIR, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), name)


class TFDSImagesTest(tf.test.TestCase):

    def _mocked(self, name, num_classes):
        with tfds.testing.mock_data(num_examples=12), mock.patch.object(
                tfds_images, "_host_reachable", return_value=True) as probe:
            source = data.TFDSImages(name, augment=False, shuffle_buffer=0)
            x, y = next(iter(source.make(4)))
            xa, _ = next(iter(data.TFDSImages(name).make(4)))
        # Under mock_data the builder reports "not prepared", so the probe runs (here patched)
        # and the patched download_and_prepare is a no-op.
        probe.assert_called()
        self.assertEqual((source.num_classes, source.image_shape, source.name),
                         (num_classes, (32, 32, 3), name))
        self.assertEqual(x.shape, (4, 32, 32, 3))
        self.assertEqual(xa.shape, (4, 32, 32, 3))
        self.assertEqual(y.dtype, tf.int32)
        self.assertAllInRange(y, 0, num_classes - 1)
        self.assertAllInRange(x, -1.0, 1.0)
        self.assertAllInRange(xa, -1.0, 1.0)
        pixels = (x.numpy() + 1.0) * 127.5  # un-augmented: exactly the uint8 grid
        self.assertAllClose(pixels, np.round(pixels), atol=1e-3)
        return probe

    def test_mock_cifar10(self):
        probe = self._mocked("cifar10", 10)
        self.assertEqual(probe.call_args.args[0], _CIFAR10_URL)

    def test_mock_cifar100(self):
        self._mocked("cifar100", 100)

    def test_offline_fails_fast_with_manual_dir_hint(self):
        data_dir = self.get_temp_dir()
        for name, archive in (("cifar10", "cifar-10-binary.tar.gz"),
                              ("cifar100", "cifar-100-binary.tar.gz")):
            with mock.patch.object(tfds_images, "_host_reachable", return_value=False), \
                    mock.patch.object(tfds.core.DatasetBuilder, "download_and_prepare") as dl:
                with self.assertRaises(data.DataError) as cm:
                    data.TFDSImages(name, data_dir=data_dir)
            dl.assert_not_called()
            message = str(cm.exception)
            for part in (name, data_dir, "manual_dir=DIR", archive, "download=False",
                         "www.cs.toronto.edu"):
                self.assertIn(part, message)

    def test_download_false_fails_at_once_without_probe(self):
        # "At once": neither the network probe nor a download runs (checked by the mocks, not
        # by a clock, which a loaded machine makes flaky).
        with mock.patch.object(tfds_images, "_host_reachable") as probe, \
                mock.patch.object(tfds.core.DatasetBuilder, "download_and_prepare",
                                  side_effect=AssertionError("must not download")):
            with self.assertRaisesRegex(data.DataError, "not prepared.*download=False"):
                data.TFDSImages("cifar10", data_dir=self.get_temp_dir(), download=False)
        probe.assert_not_called()

    def test_manual_dir_prepares_without_probe(self):
        manual = os.path.join(self.get_temp_dir(), "manual")
        os.makedirs(manual)
        with open(os.path.join(manual, "cifar-10-binary.tar.gz"), "wb") as f:
            f.write(b"not the real archive")
        data_dir = os.path.join(self.get_temp_dir(), "tfds")
        with mock.patch.object(tfds_images, "_host_reachable") as probe, \
                mock.patch.object(tfds.core.DatasetBuilder, "download_and_prepare") as dl:
            source = data.TFDSImages("cifar10", data_dir=data_dir, manual_dir=manual)
        probe.assert_not_called()
        self.assertEqual(dl.call_args.kwargs["download_config"].manual_dir, manual)
        self.assertEqual(source.num_classes, 10)
        # The real builder rejects the fake archive by checksum, in well under a second.
        with mock.patch.object(tfds_images, "_host_reachable") as probe:
            with self.assertRaisesRegex(data.DataError, r"(?s)wrong checksum.*manual_dir=DIR"):
                data.TFDSImages("cifar10", data_dir=data_dir, manual_dir=manual)
        probe.assert_not_called()

    def test_manual_dir_without_archive_probes_then_fails(self):
        # The download guard keeps a broken probe from starting TFDS' network retry loop.
        with mock.patch.object(tfds_images, "_host_reachable", return_value=False) as probe, \
                mock.patch.object(tfds.core.DatasetBuilder, "download_and_prepare",
                                  side_effect=AssertionError("must not download")):
            with self.assertRaisesRegex(data.DataError,
                                        "lacks cifar-10-binary.tar.gz.*unreachable"):
                data.TFDSImages("cifar10", data_dir=self.get_temp_dir(),
                                manual_dir=self.get_temp_dir())
        probe.assert_called_once_with(_CIFAR10_URL)

    def test_host_probe_on_local_sockets(self):
        import socket  # pylint: disable=import-outside-toplevel
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            port = server.getsockname()[1]
            self.assertTrue(tfds_images._host_reachable(f"http://127.0.0.1:{port}/x", 1.0))
        self.assertFalse(tfds_images._host_reachable(f"http://127.0.0.1:{port}/x", 1.0))
        self.assertFalse(tfds_images._host_reachable("not a url", 1.0))


class AugmentTest(tf.test.TestCase):

    def _images(self):
        return tf.random.stateless_uniform([6, 12, 12, 3], [1, 2], -1.0, 1.0)

    def test_shape_dtype_range(self):
        images = self._images()
        out = data.random_flip_and_resized_crop(images, [3, 4])
        self.assertEqual(out.shape, images.shape)
        self.assertEqual(out.dtype, tf.float32)
        self.assertAllInRange(out, -1.0, 1.0)
        self.assertEqual(augment.random_flip_and_resized_crop(images[0], 3).shape, (12, 12, 3))
        self.assertEqual(augment.random_flip_and_resized_crop(
            images, 3, output_size=(8, 5)).shape, (6, 8, 5, 3))

    def test_full_scale_without_flip_is_identity(self):
        images = self._images()
        for seed in range(5):
            out = data.random_flip_and_resized_crop(images, seed, scale=(1.0, 1.0), flip=False)
            self.assertAllEqual(out, images)

    def test_flip_only_mirrors_some_images(self):
        images = tf.random.stateless_uniform([32, 4, 4, 1], [5, 6])
        out = data.random_flip_and_resized_crop(images, 9, scale=(1.0, 1.0))
        same = tf.reduce_all(tf.equal(out, images), axis=[1, 2, 3]).numpy()
        mirrored = tf.reduce_all(tf.equal(out, tf.reverse(images, [2])), axis=[1, 2, 3]).numpy()
        np.testing.assert_array_equal(same | mirrored, True)
        self.assertBetween(int(mirrored.sum()), 8, 24)  # ~Binomial(32, 1/2)

    def test_crop_geometry(self):
        # Pixel value = its column, so a 16-px-wide crop spans exactly 15 column units.
        ramp = tf.broadcast_to(tf.range(32, dtype=tf.float32)[None, None, :, None], [8, 32, 32, 1])
        out = data.random_flip_and_resized_crop(ramp, 11, scale=(0.25, 0.25), ratio=(1.0, 1.0))
        row = out[:, 0, :, 0]
        self.assertAllClose(tf.reduce_max(row, 1) - tf.reduce_min(row, 1), [15.0] * 8)
        left = tf.reduce_min(row, 1).numpy()
        self.assertAllClose(left, np.round(left))  # crops start on whole pixels
        self.assertAllInRange(left, 0.0, 16.0)

    def test_deterministic_under_seed(self):
        images = self._images()
        a = data.random_flip_and_resized_crop(images, [7, 1])
        b = data.random_flip_and_resized_crop(images, [7, 1])
        c = data.random_flip_and_resized_crop(images, [7, 2])
        self.assertAllEqual(a, b)
        self.assertNotAllClose(a, c)


def _imagenet_manual_dir(test, files=("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar")):
    """A manual_dir holding (empty) stand-ins of the archives; under mock_data nothing reads them."""
    manual = os.path.join(test.get_temp_dir(), "manual")
    os.makedirs(manual, exist_ok=True)
    for name in files:
        with open(os.path.join(manual, name), "wb"):
            pass
    return manual


def _raw_imagenet_labels(num_examples):
    """The labels that mock_data's imagenet2012 'train' split yields, in order."""
    builder = tfds.builder("imagenet2012")
    ds = builder.as_dataset(split="train", shuffle_files=False,
                            decoders={"image": tfds.decode.SkipDecoding()})
    return [int(ex["label"]) for ex in ds.take(num_examples)]


class ImageNetTest(tf.test.TestCase):
    """TFDS imagenet2012 through `tfds.testing.mock_data` (random labels over 1000 classes)."""

    def _labels_and_images(self, source, batch_size=1):
        xs, ys = [], []
        for x, y in source.make(batch_size, repeat=False):
            xs.append(x.numpy())
            ys += y.numpy().tolist()
        return np.concatenate(xs), ys

    def test_imagenet143_keeps_and_remaps_dog_and_cat_labels(self):
        n = 300
        with offline.mock_tfds(num_examples=n):
            raw = _raw_imagenet_labels(n)
            source = data.ImageNet(resolution=16, class_ids=data.imagenet143_class_ids(),
                                   manual_dir=_imagenet_manual_dir(self), augment=False,
                                   crop="center", shuffle_buffer=0)
            x, y = self._labels_and_images(source)
        self.assertEqual((source.num_classes, source.image_shape, source.name),
                         (143, (16, 16, 3), "imagenet143"))
        expected = [label - 151 for label in raw if 151 <= label <= 293]
        self.assertGreater(len(expected), 10)  # ~14% of 300 random labels
        self.assertLess(len(expected), n)
        self.assertEqual(y, expected)
        self.assertEqual(x.shape, (len(expected), 16, 16, 3))
        self.assertAllInRange(x, -1.0, 1.0)
        self.assertGreater(float(x.max() - x.min()), 1.0)  # real pixels, not a constant

    def test_class_ids_order_defines_the_labels(self):
        n = 40
        with offline.mock_tfds(num_examples=n):
            raw = _raw_imagenet_labels(n)
            reversed_ids = list(range(999, -1, -1))
            source = data.ImageNet(resolution=8, class_ids=reversed_ids,
                                   manual_dir=_imagenet_manual_dir(self), augment=False,
                                   crop="center", shuffle_buffer=0)
            _, y = self._labels_and_images(source)
            everything = data.ImageNet(resolution=8, manual_dir=_imagenet_manual_dir(self),
                                       augment=False, crop="center", shuffle_buffer=0)
            _, y_all = self._labels_and_images(everything)
        self.assertEqual(y, [999 - label for label in raw])
        self.assertEqual(y_all, raw)
        self.assertEqual((source.num_classes, source.name), (1000, "imagenet2012_1000classes"))
        self.assertEqual((everything.num_classes, everything.name), (1000, "imagenet2012"))

    def test_random_crop_resolution_range_and_seeds(self):
        with offline.mock_tfds(num_examples=24):
            source = data.ImageNet(resolution=12, manual_dir=_imagenet_manual_dir(self),
                                   shuffle_buffer=16)
            self.assertEqual(source.image_shape, (12, 12, 3))

            def batches(seed):
                return [x.numpy() for x, _ in source.make(4, seed=seed).take(8)]  # 32 > 24

            a, b, c = batches(3), batches(3), batches(4)
            context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1,
                                                 num_replicas_in_sync=2)
            x1, y1 = next(iter(source.make(4, seed=3, input_context=context)))
        self.assertEqual((x1.shape, y1.dtype), ((4, 12, 12, 3), tf.int32))
        for xa, xb in zip(a, b):
            self.assertEqual(xa.shape, (4, 12, 12, 3))
            self.assertAllInRange(xa, -1.0, 1.0)
            np.testing.assert_array_equal(xa, xb)
        self.assertFalse(all(np.array_equal(xa, xc) for xa, xc in zip(a, c)))

    def test_missing_archives_fail_at_once_with_tfds_instructions(self):
        data_dir = os.path.join(self.get_temp_dir(), "tfds")
        with mock.patch.object(tfds.core.DatasetBuilder, "download_and_prepare",
                               side_effect=AssertionError("must not prepare")), \
                mock.patch.object(tfds_images, "_host_reachable",
                                  side_effect=AssertionError("must not probe")):
            with self.assertRaises(data.DataError) as cm:
                data.ImageNet(data_dir=data_dir)
            message = str(cm.exception)
            for part in ("imagenet2012", "ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar",
                         os.path.join(data_dir, "downloads", "manual"), "ImageNet.manual_dir=DIR",
                         "image-net.org"):
                self.assertIn(part, message)
            manual = _imagenet_manual_dir(self, files=("ILSVRC2012_img_train.tar",))
            with self.assertRaisesRegex(data.DataError,
                                        f"{manual}/ \\(missing: ILSVRC2012_img_val.tar\\)"):
                data.ImageNet(data_dir=data_dir, manual_dir=manual)

    def test_archives_present_prepare_from_manual_dir(self):
        manual = _imagenet_manual_dir(self)
        data_dir = os.path.join(self.get_temp_dir(), "tfds")
        with mock.patch.object(tfds.core.DatasetBuilder, "download_and_prepare") as prepare:
            source = data.ImageNet(data_dir=data_dir, manual_dir=manual, resolution=64)
        self.assertEqual(prepare.call_args.kwargs["download_config"].manual_dir, manual)
        self.assertEqual((source.num_classes, source.image_shape), (1000, (64, 64, 3)))
        with mock.patch.object(tfds.core.DatasetBuilder, "download_and_prepare",
                               side_effect=RuntimeError("bad checksum")):
            with self.assertRaisesRegex(data.DataError, "manual_dir=.*bad checksum"):
                data.ImageNet(data_dir=data_dir, manual_dir=manual)

    def test_bad_arguments_fail_clearly(self):
        for class_ids, pattern in (([3, 1000], "1000"), ([-1], "-1"), ([5, 7, 5], "5 more than once"),
                                   ([], "no class"), ("151", "'151'"), ([2.0], "2.0"),
                                   ([True], "True")):
            with self.assertRaisesRegex(ValueError, pattern):
                data.ImageNet(class_ids=class_ids)
        with self.assertRaisesRegex(ValueError, "crop='random'.*augment=False"):
            data.ImageNet(augment=False)
        with self.assertRaisesRegex(ValueError, "'middle'"):
            data.ImageNet(crop="middle")
        with self.assertRaisesRegex(ValueError, "resolution"):
            data.ImageNet(resolution=0)

    def test_shipped_class_list(self):
        ids = data.imagenet143_class_ids()
        self.assertEqual(ids, list(range(151, 294)))
        labels_file = os.path.join(os.path.dirname(tfds.__file__), "datasets", "imagenet2012",
                                   "labels.txt")
        if not os.path.isfile(labels_file):
            self.skipTest("TFDS imagenet2012 labels.txt not installed")
        with open(labels_file, encoding="utf-8") as f:
            wnids = f.read().split()
        with open(data.imagenet.CLASS_LIST_143, encoding="utf-8") as f:
            rows = [line.split() for line in f if not line.startswith("#")]
        self.assertEqual([(int(i), w) for i, w in rows], [(i, wnids[i]) for i in ids])
        self.assertEqual(rows[0][1], "n02085620")  # Chihuahua
        self.assertEqual(rows[-1][1], "n02130308")  # cheetah

    def test_gin_and_data_spec(self):
        with offline.mock_tfds(num_examples=4):
            gin.parse_config(f"""
                ImageNet.resolution = 64
                ImageNet.class_ids = @imagenet143_class_ids()
                ImageNet.manual_dir = {_imagenet_manual_dir(self)!r}
            """)
            try:
                source = data.ImageNet()
            finally:
                gin.clear_config()
        self.assertEqual((source.num_classes, source.image_shape), (143, (64, 64, 3)))
        path = os.path.join(self.get_temp_dir(), "data_spec.json")
        spec_lib.write_spec(source, path)
        bindings = spec_lib.spec_bindings(path)
        self.assertEqual(bindings[0], "run.data = @DataSpec()")
        gin.parse_config(bindings[1:])
        try:
            spec = data.DataSpec()
        finally:
            gin.clear_config()
        self.assertEqual((spec.num_classes, spec.image_shape, spec.name),
                         (143, (64, 64, 3), "imagenet143"))
        self.assertFalse(hasattr(spec, "class_names"))  # ImageNet-143 names none

    def test_data_spec_keeps_class_names(self):
        """For the export's metadata: tools/export.py rebuilds the run from the spec."""
        source = types.SimpleNamespace(name="shoes", num_classes=2, image_shape=(8, 8, 1),
                                       class_names=("Sandal", "Ankle 'boot'"))
        path = os.path.join(self.get_temp_dir(), "data_spec.json")
        spec_lib.write_spec(source, path)
        gin.parse_config(spec_lib.spec_bindings(path)[1:])
        try:
            spec = data.DataSpec()
        finally:
            gin.clear_config()
        self.assertEqual(spec.class_names, ("Sandal", "Ankle 'boot'"))


if __name__ == "__main__":
    tf.test.main()
