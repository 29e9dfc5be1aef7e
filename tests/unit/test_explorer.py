"""The explorer: its images are the SavedModel's for the same inputs, bad requests get one-line
messages, a directory without a SavedModel is refused (tests/integration/test_explorer.py drives
its page in headless Chromium)."""

import json
import os
import re
import shutil
import tempfile
import threading
import urllib.error
import urllib.request

import numpy as np
import tensorflow as tf

from tests.support.explorer import expected_tiles, grid_tiles
from tfgan_fast.export import explorer
from tfgan_fast.export import saved_model as export
from tfgan_fast.export import serving
from tfgan_fast.data.fashion_mnist import CLASS_NAMES
from tfgan_fast.nets import ResNetGenerator

Z = 8


def _get(url):
    """`(status, body)` of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class ExplorerServerTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp()
        g = ResNetGenerator(resolution=32, channels=1, width=8, z_dim=Z, num_classes=10)
        g(tf.random.stateless_normal([4, Z], seed=[0, 1]), tf.constant([0, 1, 2, 3]),
          training=True)
        export.export_version(g, os.path.join(cls.dir, "export"), 3, Z, 10,
                              class_names=CLASS_NAMES)
        cls.truncated = tf.saved_model.load(
            os.path.join(cls.dir, "export", "3")).signatures["truncated"]
        cls.server = explorer.make_server(explorer.Explorer(os.path.join(cls.dir, "export")))
        cls.url = "http://127.0.0.1:%d" % cls.server.server_address[1]
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def _png(self, route, **params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        status, body = _get(f"{self.url}/api/{route}.png?{query}")
        self.assertEqual(status, 200, body[:200])
        return tf.io.decode_png(body).numpy()

    def test_info_names_the_classes_and_the_version(self):
        status, body = _get(self.url + "/api/info")
        self.assertEqual(status, 200)
        info = json.loads(body)
        self.assertEqual(info["class_names"], list(CLASS_NAMES))
        self.assertEqual(info["path"], os.path.join(self.dir, "export", "3"))  # the newest
        self.assertEqual((info["z_dim"], info["image_shape"]), (Z, [32, 32, 1]))

    def test_grid_is_the_saved_models_output_for_the_same_inputs(self):
        grid = self._png("grid", **{"class": 3, "seed": 7, "truncation": 0.5, "n": 6,
                                    "cols": 4})
        self.assertEqual(grid.shape, (64, 128, 1))  # 2 rows of 4, the last 2 tiles empty
        want = expected_tiles(self.truncated, serving.latents(6, Z, seed=7), [3] * 6, 0.5)
        np.testing.assert_array_equal(grid_tiles(grid, (32, 32), 6, 4), want)
        np.testing.assert_array_equal(grid[32:, 64:], 0)

    def test_interpolations(self):
        a, b = serving.latents(1, Z, seed=4), serving.latents(1, Z, seed=9)
        strip = grid_tiles(self._png("seeds", **{"class": 2, "seed": 4, "seed2": 9,
                                                 "truncation": 0.8, "steps": 5}), (32, 32), 5, 5)
        np.testing.assert_array_equal(strip[0], expected_tiles(self.truncated, a, [2], 0.8)[0])
        np.testing.assert_array_equal(strip[-1], expected_tiles(self.truncated, b, [2], 0.8)[0])
        middle = explorer.slerp(a[0], b[0], 0.5)[None]
        np.testing.assert_array_equal(strip[2], expected_tiles(self.truncated, middle, [2], 0.8)[0])
        across = grid_tiles(self._png("classes", seed=4, truncation=1), (32, 32), 10, 10)
        np.testing.assert_array_equal(
            across, expected_tiles(self.truncated, np.repeat(a, 10, 0), list(range(10)), 1.0))

    def test_slerp_by_hand(self):
        # 90 degrees apart: halfway is at 45 degrees on the unit circle, not at the chord's
        # middle (0.5, 0.5).
        np.testing.assert_allclose(explorer.slerp([1.0, 0.0], [0.0, 1.0], 0.5),
                                   [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-7)
        np.testing.assert_allclose(explorer.slerp([2.0, 0.0], [0.0, 2.0], 1 / 3),
                                   [2 * np.cos(np.pi / 6), 2 * np.sin(np.pi / 6)], atol=1e-6)

    def test_bad_requests_get_a_one_line_message(self):
        cases = [
            ("grid.png?class=10", 400, "class must be in [0, 10); got 10"),
            ("grid.png?class=-1", 400, "class must be in [0, 10); got -1"),
            ("grid.png?class=3&seed=abc", 400, "seed must be an integer; got 'abc'"),
            ("seeds.png?seed2=1.5", 400, "seed2 must be an integer; got '1.5'"),
            ("grid.png?truncation=1.5", 400,
             "truncation must be a number in [0, 1]; got '1.5'"),
            ("grid.png?truncation=nan", 400,
             "truncation must be a number in [0, 1]; got 'nan'"),
            ("grid.png?n=1000", 400, "n must be in [1, 65); got 1000"),
            ("video.png", 404, "no such page: /api/video.png"),
        ]
        for path, status, message in cases:
            with self.subTest(path):
                got, body = _get(f"{self.url}/api/{path}")
                self.assertEqual((got, json.loads(body)), (status, {"error": message}))

    def test_a_directory_without_a_saved_model_is_refused(self):
        empty = tempfile.mkdtemp(dir=self.dir)
        with self.assertRaisesRegex(FileNotFoundError, re.escape(
                f"no SavedModel in {empty!r} nor in a numeric version directory below it "
                "(DIR/export/<iteration>/)")):
            explorer.Explorer(empty)


class UnconditionalExplorerTest(tf.test.TestCase):

    def test_z_alone_and_no_classes(self):
        g = ResNetGenerator(resolution=32, channels=1, width=8, z_dim=Z, num_classes=0)
        g(tf.zeros([1, Z]), None, training=False)
        path = export.export_generator(g, os.path.join(self.get_temp_dir(), "u"), Z, 0)
        explore = explorer.Explorer(path)
        self.assertEqual((explore.num_classes, explore.class_names), (0, []))
        grid = explore.image("grid", {"seed": ["5"], "n": ["3"], "truncation": ["0.5"]})
        z = tf.constant(0.5 * serving.latents(3, Z, seed=5))
        want = tf.saved_model.load(path).signatures["serving_default"](z=z)["images"].numpy()
        np.testing.assert_array_equal(
            grid_tiles(grid, (32, 32), 3, 3),
            np.clip(np.round((want + 1.0) * 127.5), 0, 255).astype(np.uint8))
        with self.assertRaisesRegex(explorer.BadRequest, "unconditional: it has no classes"):
            explore.image("classes", {})


