"""`python -m tests.mock_train <train.py flags>`: the real command line on mocked TFDS data.

`tfds.testing.mock_data` (with the download probe patched, see tests/offline.py) patches TFDS
inside one process, so the end-to-end tests launch the training program through this wrapper to
run it as a separate, killable process.
"""

import sys

from absl import app

from tests.offline import mock_tfds
from tfgan_fast import train

if __name__ == "__main__":
    with mock_tfds(num_examples=64):
        app.run(train.main, argv=sys.argv)
