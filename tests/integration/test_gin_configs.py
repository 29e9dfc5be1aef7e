"""Every shipped recipe and paper row builds (at small widths, on mocked data)."""

import os

import pytest
import tensorflow as tf

from tests.support import paper_and_top_configs
from tests.support.runs import build
from tfgan_fast.algorithms import GANTrainer


class GinBuildTest(tf.test.TestCase):

    @pytest.mark.slow
    def test_every_recipe_and_paper_row_builds(self):
        # image_folder.gin needs a folder of images: tests/unit/test_image_folder.py trains
        # through it.
        for path in [p for p in paper_and_top_configs() if not p.endswith("image_folder.gin")]:
            with self.subTest(path=path):
                exp = build([path], ["run.batch_size = 4"])
                self.assertIsInstance(exp.trainer, GANTrainer)
                self.assertEqual(exp.start_step, 0)


if __name__ == "__main__":
    tf.test.main()
