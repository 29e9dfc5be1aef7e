"""ImageFolder: class sub-folders as labels, any size resized and cropped, the bad cases."""

import json
import os

import numpy as np
import tensorflow as tf


from tests.support import ROOT
from tfgan_fast.run import config
from tfgan_fast.run import experiment
from tfgan_fast.data import DataError
from tfgan_fast.data import ImageFolder


def _write(path, height, width, channels=3, value=None, fmt="png"):
    rng = np.random.default_rng(abs(hash(path)) % 2 ** 32)
    pixels = (rng.integers(0, 256, (height, width, channels)) if value is None
              else np.full((height, width, channels), value)).astype(np.uint8)
    data = (tf.io.encode_png(pixels) if fmt == "png" else tf.io.encode_jpeg(pixels)).numpy()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


class ImageFolderTest(tf.test.TestCase):

    def _tree(self):
        root = os.path.join(self.get_temp_dir(), "tree")
        # "b_cats" sorts before "dogs": labels follow sorted names, not creation order.
        _write(f"{root}/dogs/1.png", 40, 60, value=255)        # landscape, white
        _write(f"{root}/dogs/2.jpg", 100, 50, fmt="jpeg")      # portrait, JPEG
        _write(f"{root}/dogs/3.PNG", 16, 16, channels=1)        # small grayscale, upper-case ext
        _write(f"{root}/b_cats/1.png", 32, 32, value=0)         # black
        _write(f"{root}/b_cats/2.png", 80, 80)
        with open(f"{root}/b_cats/notes.txt", "w", encoding="utf-8") as f:
            f.write("ignored: not an image extension")
        os.makedirs(f"{root}/.hidden")
        return root

    def test_labels_shapes_range_and_summary(self):
        root = self._tree()
        data = ImageFolder(root, resolution=24, channels=3, verbose=False)
        self.assertEqual(data.class_names, ("b_cats", "dogs"))
        self.assertEqual((data.num_classes, data.image_shape, data.num_examples),
                         (2, (24, 24, 3), 5))
        self.assertEqual(data.name, "tree")
        summary = data.summary()
        self.assertIn(f"ImageFolder {root}: 5 images in 2 classes (b_cats 2, dogs 3); 24x24 RGB; "
                      "pixels in [-1.00, 1.00] after preprocessing", summary)
        images, labels = next(iter(data.make(5, seed=0, repeat=False)))
        self.assertEqual(images.shape, (5, 24, 24, 3))
        self.assertAllInRange(images, -1.0, 1.0)
        self.assertCountEqual(labels.numpy().tolist(), [0, 0, 1, 1, 1])
        # The white and black images keep their colour through resize and crop.
        self.assertAllClose(data.preprocess_one(f"{root}/dogs/1.png"), tf.ones([24, 24, 3]))
        self.assertAllClose(data.preprocess_one(f"{root}/b_cats/1.png"), -tf.ones([24, 24, 3]))
        gray = ImageFolder(root, resolution=8, channels=1, verbose=False)
        self.assertEqual(next(iter(gray.make(2, seed=0)))[0].shape, (2, 8, 8, 1))
        self.assertIn("8x8 grayscale", gray.summary())

    def test_stream_resumes_exactly(self):
        data = ImageFolder(self._tree(), resolution=8, verbose=False)
        whole = [x.numpy() for x, _ in data.make(2, seed=3).take(6)]
        resumed = [x.numpy() for x, _ in data.make(2, seed=3, start_step=4).take(2)]
        self.assertAllEqual(resumed, whole[4:])

    def test_corrupt_files_are_skipped_and_counted_or_fail_with_their_path(self):
        root = self._tree()
        bad = f"{root}/dogs/broken.png"
        with open(bad, "wb") as f:
            f.write(b"not an image at all")
        open(f"{root}/dogs/empty.jpg", "wb").close()
        data = ImageFolder(root, resolution=8, verbose=False)
        self.assertEqual(data.num_examples, 5)
        self.assertLen(data.corrupt_files, 2)
        self.assertIn("skipped 2 file(s) that are not readable PNG/JPEG", data.summary())
        with self.assertRaisesRegex(DataError, f"{bad}' is not a readable PNG or JPEG"):
            ImageFolder(root, resolution=8, on_corrupt="fail", verbose=False)

    def test_damaged_data_behind_a_valid_header_drops_its_batch_when_skipping(self):
        root = os.path.join(self.get_temp_dir(), "damaged")
        for i in range(4):
            _write(f"{root}/a/{i}.png", 8, 8)
        with open(f"{root}/a/0.png", "rb") as f:
            head = f.read(20)
        with open(f"{root}/a/0.png", "wb") as f:
            f.write(head)  # a PNG signature, then nothing decodable
        data = ImageFolder(root, resolution=8, verbose=False)
        self.assertEqual(data.num_examples, 4)
        batches = list(data.make(1, seed=0, repeat=False))
        self.assertLen(batches, 3)
        strict = ImageFolder(root, resolution=8, on_corrupt="fail", verbose=False)
        with self.assertRaises(tf.errors.InvalidArgumentError):
            list(strict.make(1, seed=0, repeat=False))

    def test_bad_folders_are_one_line(self):
        root = os.path.join(self.get_temp_dir(), "bad")
        with self.assertRaisesRegex(DataError, "is not a directory"):
            ImageFolder(root, verbose=False)
        os.makedirs(root)
        with self.assertRaisesRegex(DataError, "has no class sub-folders"):
            ImageFolder(root, verbose=False)
        _write(f"{root}/full/1.png", 8, 8)
        os.makedirs(f"{root}/empty")
        with self.assertRaisesRegex(DataError, f"class folder '{root}/empty' has no readable"):
            ImageFolder(root, verbose=False)
        with self.assertRaisesRegex(ValueError, "ImageFolder.channels must be 1 or 3, got 2"):
            ImageFolder(root, channels=2, verbose=False)

    def test_unreadable_class_folder(self):
        if os.geteuid() == 0:
            self.skipTest("root reads every folder")
        root = os.path.join(self.get_temp_dir(), "locked")
        _write(f"{root}/a/1.png", 8, 8)
        os.chmod(f"{root}/a", 0)
        self.addCleanup(os.chmod, f"{root}/a", 0o755)
        with self.assertRaisesRegex(DataError, "cannot be read"):
            ImageFolder(root, verbose=False)


    def test_splits_hold_out_a_fixed_share_of_each_class_by_file_name(self):
        import zlib  # pylint: disable=import-outside-toplevel
        root = os.path.join(self.get_temp_dir(), "split")
        for cls in ("a", "b"):
            for k in range(60):
                _write(f"{root}/{cls}/{k:02d}.png", 4, 4, value=k)
        whole = ImageFolder(root, resolution=4, verbose=False)
        train = ImageFolder(root, resolution=4, split="train", test_fraction=0.2, verbose=False)
        test = ImageFolder(root, resolution=4, split="test", test_fraction=0.2, verbose=False)
        # pylint: disable=protected-access
        self.assertEqual(set(train._paths) | set(test._paths), set(whole._paths))
        self.assertEqual(set(train._paths) & set(test._paths), set())
        # The rule by hand: the CRC-32 of "a/07.png" etc. decides, not the order on disk.
        want = {f"{root}/{c}/{k:02d}.png" for c in ("a", "b") for k in range(60)
                if zlib.crc32(f"{c}/{k:02d}.png".encode()) % 10000 < 2000}
        self.assertEqual(set(test._paths), want)
        for label in (0, 1):
            self.assertBetween(int((test._labels == label).sum()), 4, 24)  # ~12 of 60
        self.assertIn("(test split)", test.summary())
        for bad, message in (({"split": "val"}, r"ImageFolder.split must be 'all', 'train' or "
                                                r"'test', got 'val'"),
                             ({"test_fraction": 1.0}, r"ImageFolder.test_fraction must be in "
                                                      r"\(0, 1\), got 1.0")):
            with self.assertRaisesRegex(ValueError, message):
                ImageFolder(root, resolution=4, verbose=False, **bad)
        _write(f"{root}/tiny/only.png", 4, 4)
        split = "test" if zlib.crc32(b"tiny/only.png") % 10000 >= 2000 else "train"
        with self.assertRaisesRegex(DataError, rf"class folder '.*tiny' has no images in its "
                                               rf"'{split}' split"):
            ImageFolder(root, resolution=4, split=split, test_fraction=0.2, verbose=False)

    def test_trains_through_the_shipped_gin_file(self):
        root = self._tree()
        model_dir = os.path.join(self.get_temp_dir(), "run")
        config.parse([os.path.join(ROOT, "gin", "image_folder.gin")], [
            f"ImageFolder.path = '{root}'", "ImageFolder.resolution = 16",
            "ResNetGenerator.width = 8", "ResNetDiscriminator.width = 8", "run.z_dim = 8",
            "run.batch_size = 4", "run.train_steps = 2", "run.evaluator = None",
            "run.export_at_end = False", "run.progress = False", "run.run_eagerly = True",
            "run.summary_every = 2", "run.mixed_precision = None"])
        result = experiment.run(model_dir)
        self.assertEqual(result["final_step"], 2)
        with open(os.path.join(model_dir, "data_spec.json"), encoding="utf-8") as f:
            spec = json.load(f)
        self.assertEqual(spec, {"name": "tree", "num_classes": 2, "image_shape": [16, 16, 3],
                                "class_names": ["b_cats", "dogs"]})


if __name__ == "__main__":
    tf.test.main()
