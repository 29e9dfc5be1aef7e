"""Tiny runs of the shipped gin files (every algorithm, every config at a small width, the race's
contestants), and what runs write: a checkpoint's tensors, CSV tables, the race's state."""

import contextlib
import csv
import io
import json
import os

import tensorflow as tf

from tests.support import ROOT
from tests.support.offline import mock_tfds_all
from tfgan_fast.run import config
from tfgan_fast.run import experiment
from tfgan_fast.run import rundir
from tfgan_fast.perf import race

# Every algorithm's tiny run (the exact-resume, golden-update, EMA and fault tests).
STEPS = 5
TINY = ["run.z_dim = 8", "run.batch_size = 4", "run.checkpoint_every = 1",
        "run.summary_every = 0", "run.export_at_end = False", "run.progress = False",
        "run.evaluator = None", "run.callbacks = []", f"run.train_steps = {STEPS}",
        "run.run_eagerly = True"]
TINY_IMAGES = TINY + ["run.data = @QuickstartFashionMNIST()", "ResNetGenerator.width = 8",
                      "QuickstartFashionMNIST.resolution = 16",
                      "ResNetDiscriminator.width = 8"]
FASTGAN_FMNIST = os.path.join(ROOT, "gin", "fmnist", "fastgan.gin")


def run_tiny_fastgan(model_dir, steps, extra=(), setup_only=False):
    """gin/fmnist/fastgan.gin at `TINY_IMAGES` for `steps` iterations in process; returns
    (`experiment.run`'s result, what it printed)."""
    config.parse([FASTGAN_FMNIST], TINY_IMAGES + [f"run.train_steps = {steps}"] + list(extra))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = experiment.run(model_dir, setup_only=setup_only)
    return result, out.getvalue()


def checkpoint_steps(model_dir):
    """The iterations of the checkpoints `model_dir` keeps, oldest first."""
    state = tf.train.get_checkpoint_state(os.path.join(model_dir, "checkpoints"))
    return [rundir.checkpoint_step(p) for p in state.all_model_checkpoint_paths] if state else []


# The golden updates (tests/golden/updates.npz) are of the SNGAN paper's networks; the FastGAN
# paper's Fashion-MNIST configs build the authors' code's (gin/base/authors_nets.gin).
PAPER_NETS = ["include 'base/sngan_paper_nets.gin'"]
CONFIGS = {
    "fastgan": ("gin/fmnist/fastgan.gin", TINY_IMAGES + PAPER_NETS),
    "sngan": ("gin/fmnist/sngan.gin", TINY_IMAGES + PAPER_NETS + ["StandardGAN.n_disc = 2"]),
    "robgan": ("gin/fmnist/robgan.gin", TINY_IMAGES + PAPER_NETS + ["RobGAN.n_disc = 2"]),
    "fargan": ("gin/synthetic/fargan_8gaussians.gin",
               TINY + ["MLPGenerator.width = 8", "MLPDiscriminator.width = 8",
                       "FARGAN.num_far = 2", "FARGAN.far_factor = 2",
                       "FARGAN.num_fake = 4"]),
    "logan": ("gin/fmnist/logan.gin", TINY_IMAGES),
}
# gin/fastgan_cifar.gin's networks at width 8 on synthetic images, writing nothing (profiling).
TINY_SYNTHETIC = [
    "ResNetGenerator.width = 8", "ResNetDiscriminator.width = 8", "run.z_dim = 8",
    "run.batch_size = 2", "run.evaluator = None", "run.mixed_precision = None",
    "run.data = @SyntheticImages()", "SyntheticImages.image_shape = (32, 32, 3)",
    "SyntheticImages.num_classes = 10", "run.summary_every = 0", "run.checkpoint_every = 0",
    "run.export_at_end = False", "run.progress = False"]
# The race's tiny contestants (tests/gin/race_tiny_*.gin): width-8 nets on the shipped subset.
RACE_TINY = {name: os.path.join(ROOT, "tests", "gin", f"race_tiny_{name}.gin")
             for name in ("fastgan", "sngan", "bad_data", "bad_classifier")}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def race_state(race_dir):
    with open(os.path.join(race_dir, race.STATE_FILE), encoding="utf-8") as f:
        return json.load(f)


_IGNORED = ("save_counter/.ATTRIBUTES/VARIABLE_VALUE", "_CHECKPOINTABLE_OBJECT_GRAPH")


def checkpoint_tensors(path):
    """Every saved tensor of a checkpoint, by key (the save counter aside)."""
    reader = tf.train.load_checkpoint(path)
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()
            if key not in _IGNORED}


def run_config(name, model_dir, steps, strategy_fn):
    """Trains `CONFIGS[name]` to `steps` in `model_dir`; returns the final checkpoint's path."""
    gin_file, params = CONFIGS[name]
    config.parse([os.path.join(ROOT, gin_file)], params + [f"run.train_steps = {steps}"])
    kwargs = {"strategy_fn": strategy_fn} if strategy_fn else {}
    result = experiment.run(model_dir, **kwargs)
    return result["checkpoint"]


# Every shipped config at a small width (the gin-file tests build them).
SMALL = ["ResNetGenerator.width = 16", "ResNetDiscriminator.width = 16"]
SMALL += [f"{net}.width = 2" for net in (  # FARGAN's networks (Tao & Wang 2020, App. D)
    "FARGANResNetGenerator", "FARGANResNetDiscriminator", "DCGANGenerator",
    "DCGANDiscriminator", "ConventionalGenerator", "ConventionalDiscriminator")]
# LOGAN's configs (BigGAN-deep at 128 px with 1000 classes, batch 2048; SN-GAN's CNN).
SMALL += ["BigGANDeepGenerator.width = 2", "BigGANDeepDiscriminator.width = 2",
          "BigGANDeepGenerator.attention_resolution = None",
          "BigGANDeepDiscriminator.attention_resolution = None",
          "SNGANCNNGenerator.width = 16", "SNGANCNNDiscriminator.width = 4"]


def build(gin_files, params=()):
    """`experiment.run(setup_only=True)` of gin files at `SMALL` widths on mocked TFDS data."""
    config.parse(gin_files, list(params) + SMALL)
    with mock_tfds_all(num_examples=8):
        return experiment.run("/tmp/unused_model_dir", setup_only=True)
