"""Makes the class-balanced Fashion-MNIST subset shipped in `tfgan_fast/data/quickstart/`.

Reads the training IDX files (by default Debian's `dataset-fashion-mnist`), draws `--per_class`
images of each class without replacement with a numpy `default_rng(--seed)`, keeps them in their
source order, and writes `train-{images-idx3,labels-idx1}-ubyte.gz` with gzip mtime 0, so the
same inputs and flags give byte-identical files.

    python scripts/make_quickstart_data.py --per_class=500 --seed=0
"""
import hashlib
import os

from absl import flags

from tfgan_fast.run import cli
import numpy as np

from tfgan_fast.data import fashion_mnist
from tfgan_fast.data import idx

_SOURCE_DIR = flags.DEFINE_string(
    "source_dir", "/usr/share/datasets/fashion-mnist",
    "Directory with the Fashion-MNIST training IDX files.")
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", fashion_mnist.QUICKSTART_DIR, "Where to write the subset.")
_PER_CLASS = flags.DEFINE_integer("per_class", 500, "Images per class.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of numpy.random.default_rng for the selection.")


def select_balanced(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of `per_class` examples of every class, drawn without replacement, sorted.

    Args:
        labels: integer labels `[N]`.
        per_class: examples to keep per class.
        seed: seed of `numpy.random.default_rng`.

    Returns:
        Sorted int64 indices `[num_classes * per_class]`.
    """
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):  # ascending class order fixes the rng's consumption order
        members = np.flatnonzero(labels == c)
        if members.size < per_class:
            raise ValueError(f"class {c} has only {members.size} examples < {per_class}")
        chosen.append(rng.choice(members, size=per_class, replace=False))
    # Source order is already class-mixed, so the file needs no class-sorted layout.
    return np.sort(np.concatenate(chosen))


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(argv):
    del argv
    images, labels = fashion_mnist.load_fashion_mnist(_SOURCE_DIR.value, "train")
    keep = select_balanced(labels, _PER_CLASS.value, _SEED.value)
    os.makedirs(_OUTPUT_DIR.value, exist_ok=True)
    names = fashion_mnist._FILES["train"]  # pylint: disable=protected-access
    outputs = [os.path.join(_OUTPUT_DIR.value, n) for n in names]
    idx.write_idx(outputs[0], images[keep])
    idx.write_idx(outputs[1], labels[keep])
    for n in names:
        print(f"source  sha256 {_sha256(os.path.join(_SOURCE_DIR.value, n))}  {n}")
    for path in outputs:
        print(f"output  sha256 {_sha256(path)}  {os.path.basename(path)}  "
              f"({os.path.getsize(path)} bytes)")
    counts = np.bincount(labels[keep], minlength=10)
    print(f"kept {keep.size} of {labels.size} images; per class {counts.tolist()}")


if __name__ == "__main__":
    cli.run(main)
