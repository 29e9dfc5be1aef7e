"""Offline TFDS for tests: `mock_data` plus a download-host probe that never touches the network.

Under `tfds.testing.mock_data` a builder reports "not prepared", so `TFDSImages` would probe the
download host before using the (mocked) download; the probe is patched to "reachable" here.
"""

import contextlib
from unittest import mock

import tensorflow_datasets as tfds


@contextlib.contextmanager
def mock_tfds(num_examples=64):
    with tfds.testing.mock_data(num_examples=num_examples), mock.patch(
            "tfgan_fast.data.tfds_images._host_reachable", return_value=True):
        yield


@contextlib.contextmanager
def mock_tfds_all(num_examples=8):
    """`mock_tfds`, and ImageNet's "are the manual ILSVRC2012 archives there" check skipped
    (mock_data serves imagenet2012 without them): for building configs, not for testing the
    data sources' own errors."""
    from tfgan_fast.data.imagenet import ImageNet  # pylint: disable=import-outside-toplevel

    with mock_tfds(num_examples), mock.patch.object(ImageNet, "_ensure_prepared"):
        yield
