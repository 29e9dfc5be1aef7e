"""What the tests share: tiny networks and trainers, offline data, the two-CPU strategy, run
configs, and the programs and gin modules that subprocess tests start. No test module imports
another test module; they import from here.
"""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_script(name):
    """The module of `scripts/<name>.py` (developer scripts are not installed)."""
    spec = importlib.util.spec_from_file_location(f"scripts_{name}",
                                                  os.path.join(ROOT, "scripts", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# gin/ holds the recipes users start from at its top (quickstart, the main entry, own images),
# the papers' rows in one folder per data set, Fashion-MNIST's CPU-scale recipes in fmnist/, and
# the shared pieces in base/ and eval/.
PAPER_DATASETS = ("cifar10", "cifar100", "imagenet64", "imagenet128", "imagenet143", "synthetic")


def gin_files(*folders):
    """The gin files directly in each of `folders` under gin/ ("" is gin/ itself), sorted."""
    import glob  # pylint: disable=import-outside-toplevel
    return sorted(p for f in folders for p in glob.glob(os.path.join(ROOT, "gin", f, "*.gin")))


def paper_and_top_configs():
    """Every configuration a user runs as it is, except Fashion-MNIST's: gin/*.gin and the
    papers' rows."""
    return gin_files("", *PAPER_DATASETS)
