"""Exact resume: a run interrupted and resumed ends bit-identical to the uninterrupted run.

Every algorithm (FastGAN, SNGAN, RobGAN, FARGAN, LOGAN), on one device and on two replicas:
the run is cut at three random iterations (each cut resumes from the checkpoint written there,
which is what a kill between two checkpoints leaves) and every tensor of the final checkpoint
(G, D, both optimisers, the iteration, FastGAN's per-replica perturbation, spectral norm's power
iteration vectors, batch-norm statistics) is compared bitwise with the uninterrupted run's.
tests/test_end_to_end.py kills real processes with SIGKILL at random moments.
"""

import os
import random

import numpy as np
import pytest
import tensorflow as tf

from tests import strategies
from tfgan_fast.run import config
from tfgan_fast.runtime import errors
from tfgan_fast.run import experiment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 5
TINY = ["run.z_dim = 8", "run.batch_size = 4", "run.checkpoint_every = 1",
        "run.summary_every = 0", "run.export_at_end = False", "run.progress = False",
        "run.evaluator = None", "run.callbacks = []", f"run.train_steps = {STEPS}",
        "run.run_eagerly = True"]
TINY_IMAGES = TINY + ["run.data = @QuickstartFashionMNIST()", "ResNetGenerator.width = 8",
                      "QuickstartFashionMNIST.resolution = 16",
                      "ResNetDiscriminator.width = 8"]
CONFIGS = {
    "fastgan": ("gin/fmnist/fastgan.gin", TINY_IMAGES),
    "sngan": ("gin/fmnist/sngan.gin", TINY_IMAGES + ["StandardGAN.n_disc = 2"]),
    "robgan": ("gin/fmnist/robgan.gin", TINY_IMAGES + ["RobGAN.n_disc = 2"]),
    "fargan": ("gin/fargan_synthetic_8gaussians.gin",
               TINY + ["MLPGenerator.width = 8", "MLPDiscriminator.width = 8",
                       "FARGAN.num_far = 2", "FARGAN.far_factor = 2",
                       "FARGAN.num_fake = 4"]),
    "logan": ("gin/fmnist/logan.gin", TINY_IMAGES),
}
_IGNORED = ("save_counter/.ATTRIBUTES/VARIABLE_VALUE", "_CHECKPOINTABLE_OBJECT_GRAPH")


def checkpoint_tensors(path):
    """Every saved tensor of a checkpoint, by key (the save counter aside)."""
    reader = tf.train.load_checkpoint(path)
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()
            if key not in _IGNORED}


def _run(name, model_dir, steps, strategy_fn):
    gin_file, params = CONFIGS[name]
    config.parse([os.path.join(ROOT, gin_file)], params + [f"run.train_steps = {steps}"])
    kwargs = {"strategy_fn": strategy_fn} if strategy_fn else {}
    result = experiment.run(model_dir, **kwargs)
    return result["checkpoint"]


@pytest.mark.slow
class ExactResumeTest(tf.test.TestCase):

    def _check(self, name, strategy_fn=None):
        if strategy_fn is not None and strategy_fn() is None:
            self.skipTest("needs two logical CPUs")
        cuts = sorted(random.Random(name).sample(range(1, STEPS), 3))
        whole = _run(name, os.path.join(self.get_temp_dir(), name, "whole"), STEPS,
                     strategy_fn)
        cut_dir = os.path.join(self.get_temp_dir(), name, "cut")
        for step in cuts + [STEPS]:
            resumed = _run(name, cut_dir, step, strategy_fn)
            self.assertTrue(resumed.endswith(f"ckpt-{step}"), resumed)
        want, got = checkpoint_tensors(whole), checkpoint_tensors(resumed)
        self.assertEqual(sorted(want), sorted(got))
        different = [k for k in want if want[k].dtype != got[k].dtype
                     or not np.array_equal(want[k], got[k])]
        self.assertEqual(different, [], f"{name}, cut at {cuts}: {len(different)} of "
                                        f"{len(want)} tensors differ")
        return want

    def test_fastgan(self):
        tensors = self._check("fastgan")
        self.assertIn("delta/.ATTRIBUTES/all_replicas", tensors)

    def test_fastgan_two_replicas(self):
        tensors = self._check("fastgan", strategies.two_cpu_mirrored)
        delta = tensors["delta/.ATTRIBUTES/all_replicas"]
        self.assertEqual(delta.shape[0], 4)  # both replicas' rows of the global batch
        self.assertFalse(np.array_equal(delta[:2], delta[2:]))

    def test_sngan(self):
        tensors = self._check("sngan")
        self.assertTrue(any("sn_u" in k or "/u/" in k or k.endswith("u/.ATTRIBUTES/VARIABLE_VALUE")
                            for k in tensors), sorted(tensors)[:20])

    def test_sngan_two_replicas(self):
        self._check("sngan", strategies.two_cpu_mirrored)

    def test_robgan(self):
        self._check("robgan")

    def test_robgan_two_replicas(self):
        self._check("robgan", strategies.two_cpu_mirrored)

    def test_fargan(self):
        self._check("fargan")

    def test_fargan_two_replicas(self):
        self._check("fargan", strategies.two_cpu_mirrored)

    def test_logan(self):
        self._check("logan")

    def test_logan_two_replicas(self):
        self._check("logan", strategies.two_cpu_mirrored)



class ReplicaCountChangeTest(tf.test.TestCase):

    def test_a_run_saved_on_one_device_resumes_on_two_replicas_with_its_state_resliced(self):
        strategy = strategies.two_cpu_mirrored()
        if strategy is None:
            self.skipTest("needs two logical CPUs")
        model_dir = os.path.join(self.get_temp_dir(), "run")
        saved = checkpoint_tensors(_run("fastgan", model_dir, 3, None))
        config.parse([os.path.join(ROOT, CONFIGS["fastgan"][0])], CONFIGS["fastgan"][1])
        exp = experiment.run(model_dir, strategy_fn=lambda: strategy, setup_only=True)
        self.assertEqual(exp.start_step, 3)
        rows = strategy.experimental_local_results(exp.trainer.real_transform.delta)
        self.assertLen(rows, 2)
        self.assertAllEqual(tf.concat(rows, 0), saved["delta/.ATTRIBUTES/all_replicas"])
        # ... and trains on from there: the stream and the random draws are global.
        final = _run("fastgan", model_dir, 4, lambda: strategy)
        self.assertTrue(final.endswith("ckpt-4"))

    def test_another_global_batch_is_refused(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        _run("fastgan", model_dir, 1, None)
        config.parse([os.path.join(ROOT, CONFIGS["fastgan"][0])], CONFIGS["fastgan"][1] + [
            "run.batch_size = 8", "run.allow_structural_change = True"])
        with self.assertRaisesRegex(errors.IncompatibleCheckpointError,
                                    r"delta has shape \[4, 16, 16, 1\] \(its global batch\), "
                                    r"this run's is \[8, 16, 16, 1\].*run.batch_size"):
            experiment.run(model_dir)


if __name__ == "__main__":
    tf.test.main()
