"""Every shipped top-level gin file builds (at small widths, on mocked data)."""

import glob
import os

import pytest
import tensorflow as tf

from tests.support import ROOT
from tests.support.runs import build
from tfgan_fast.algorithms import GANTrainer

TOP_LEVEL = sorted(glob.glob(os.path.join(ROOT, "gin", "*.gin")))


class GinBuildTest(tf.test.TestCase):

    @pytest.mark.slow
    def test_every_top_level_file_builds(self):
        # image_folder.gin needs a folder of images: tests/unit/test_image_folder.py trains
        # through it.
        for path in [p for p in TOP_LEVEL if not p.endswith("image_folder.gin")]:
            with self.subTest(path=os.path.basename(path)):
                exp = build([path], ["run.batch_size = 4"])
                self.assertIsInstance(exp.trainer, GANTrainer)
                self.assertEqual(exp.start_step, 0)


if __name__ == "__main__":
    tf.test.main()
