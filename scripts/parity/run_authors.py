"""Runs the FastGAN authors' unmodified `train_free.py` on Debian's Fashion-MNIST arrays.

Developer script of the parity study (docs/parity.md); not installed, and it contains none of the
authors' code. Only their data loader is swapped: `tools.loading.load_datasets` is replaced by one
that reads the IDX files, pads 28x28 to 32x32 with -1 (as tfgan_fast's `FashionMNIST` does) and
scales to [-1, 1], shuffled every epoch. Needs a clone of github.com/julightzhong10/fastgan
(commit ac9aec95) in `$FASTGAN_DIR` (default: `fastgan/` beside this file) and `torch`,
`torchvision` in the Python that runs it (a scratch venv, not the project's).

    python scripts/parity/run_authors.py --random_seed 10 --net sngan_cifar ... (train_free.py's
        flags; docs/parity.md has the full command)
"""
import gzip, os, runpy, sys
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("FASTGAN_DIR", os.path.join(HERE, "fastgan")))
import tools.loading  # noqa: E402


def _idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_datasets(data_path, img_width, batch_size, n_workers, n_gpu, shuffle=True, dali=False,
                  seed=10, da=False):
    images = _idx(os.path.join(data_path, "train-images-idx3-ubyte.gz"), 16).reshape(-1, 1, 28, 28)
    labels = _idx(os.path.join(data_path, "train-labels-idx1-ubyte.gz"), 8).astype(np.int64)
    x = images.astype(np.float32) / 127.5 - 1.0
    p = (img_width - 28) // 2
    x = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)], constant_values=-1.0)
    data = TensorDataset(torch.from_numpy(x), torch.from_numpy(labels))
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, num_workers=0,
                      drop_last=True), None


tools.loading.load_datasets = load_datasets
sys.argv = [os.path.join(sys.path[0], "train_free.py")] + sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
