"""The explorer's page in headless Chromium after a quickstart-like run that also writes its ONNX
and LiteRT files (run.export_formats); tests/unit/test_explorer.py tests its server."""

import base64
import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.support import ROOT
from tests.support.explorer import expected_tiles, grid_tiles
from tfgan_fast.export import saved_model as export
from tfgan_fast.export import serving
from tfgan_fast.data.fashion_mnist import CLASS_NAMES


def _chromium(user_data_dir):
    from selenium import webdriver  # pylint: disable=import-outside-toplevel
    from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1100,900",
                 f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


@pytest.mark.slow
class BrowserTest(tf.test.TestCase):
    """A quickstart-like run (2 iterations of gin/quickstart.gin at width 8), its explorer
    started by the tool, and the page driven in headless Chromium."""

    def _train(self, model_dir):
        from tfgan_fast.run import config  # pylint: disable=import-outside-toplevel
        from tfgan_fast.run import experiment  # pylint: disable=import-outside-toplevel

        config.parse([os.path.join(ROOT, "gin", "quickstart.gin")], [
            "ResNetGenerator.width = 8", "ResNetDiscriminator.width = 8", "run.batch_size = 8",
            "run.train_steps = 2", "run.summary_every = 2", "run.evaluator = None",
            "run.progress = False", "run.export_formats = ['onnx', 'tflite']"])
        with contextlib.redirect_stdout(io.StringIO()):
            return experiment.run(model_dir)["export_path"]

    def _wait_ready(self, driver, before=None):
        deadline = time.time() + 120
        while time.time() < deadline:
            state = driver.execute_script("return document.body.dataset.state")
            grid = driver.execute_script("return document.getElementById('grid').dataset.query")
            if state == "error":
                self.fail(driver.find_element("id", "error").text)
            if state == "ready" and grid != before:
                return grid
            time.sleep(0.2)
        self.fail("the page did not finish loading")

    def _shown_grid(self, driver):
        """The PNG the page shows as the grid, fetched from its blob URL, decoded."""
        data = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch(document.getElementById('grid').src).then(r => r.arrayBuffer()).then(buf => {
              let s = ''; new Uint8Array(buf).forEach(b => s += String.fromCharCode(b));
              done(btoa(s)); });""")
        return tf.io.decode_png(base64.b64decode(data)).numpy()

    def test_page_picks_a_class_moves_truncation_and_shows_the_saved_models_images(self):
        from selenium.webdriver.common.keys import Keys  # pylint: disable=import-outside-toplevel
        from selenium.webdriver.support.ui import Select  # pylint: disable=import-outside-toplevel

        model_dir = os.path.join(self.get_temp_dir(), "quickstart")
        path = self._train(model_dir)
        for name in ("generator.onnx", "generator.tflite"):  # run.export_formats
            self.assertTrue(os.path.isfile(os.path.join(path, name)), name)
        meta = export.read_metadata(path)
        self.assertEqual(meta["class_names"], list(CLASS_NAMES))

        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        tool = subprocess.Popen(
            [sys.executable, "-m", "tfgan_fast.tools.explore",
             f"--export={os.path.join(model_dir, 'export')}", "--port=0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
        driver = None
        try:
            line = tool.stdout.readline()
            url = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
            self.assertIsNotNone(url, line)
            driver = _chromium(tempfile.mkdtemp(dir=self.get_temp_dir()))
            driver.get(url.group(1))
            first = self._wait_ready(driver)
            start = self._shown_grid(driver)
            options = [o.text for o in Select(driver.find_element("id", "class")).options]
            self.assertEqual(options, [f"{i}: {n}" for i, n in enumerate(CLASS_NAMES)])

            Select(driver.find_element("id", "class")).select_by_value("4")
            after_class = self._wait_ready(driver, first)
            slider = driver.find_element("id", "truncation")
            for _ in range(4):  # 1.0 -> 0.8 in steps of 0.05, as a person with the keyboard
                slider.send_keys(Keys.ARROW_LEFT)
            self._wait_ready(driver, after_class)
            while driver.find_element("id", "truncation-value").text != "0.80":
                time.sleep(0.2)  # each arrow press fires its own request: wait for the last
            self._wait_ready(driver, after_class)
            self.assertIn("truncation=0.8", driver.execute_script(
                "return document.getElementById('grid').dataset.query"))
            shown = self._shown_grid(driver)
            self.assertGreater(np.abs(shown.astype(int) - start.astype(int)).max(), 0)

            truncated = tf.saved_model.load(path).signatures["truncated"]
            want = expected_tiles(truncated, serving.latents(16, meta["z_dim"], seed=0), [4] * 16,
                                  0.8)
            self.assertEqual(shown.shape, (64, 256, 1))
            np.testing.assert_array_equal(grid_tiles(shown, (32, 32), 16, 8), want)
            self.assertEqual(driver.find_element("id", "download").get_attribute("href"),
                             driver.find_element("id", "grid").get_attribute("src"))
        finally:
            if driver is not None:
                driver.quit()
            tool.terminate()
            tool.wait(timeout=30)


if __name__ == "__main__":
    tf.test.main()
