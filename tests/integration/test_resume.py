"""Exact resume: a run interrupted and resumed ends bit-identical to the uninterrupted run.

Every algorithm (FastGAN, SNGAN, RobGAN, FARGAN, LOGAN), on one device and on two replicas:
the run is cut at three random iterations (each cut resumes from the checkpoint written there,
which is what a kill between two checkpoints leaves) and every tensor of the final checkpoint
(G, D, both optimisers, the iteration, FastGAN's per-replica perturbation, spectral norm's power
iteration vectors, batch-norm statistics) is compared bitwise with the uninterrupted run's.
tests/integration/test_end_to_end.py kills real processes with SIGKILL at random moments.
"""

import os
import random

import numpy as np
import pytest
import tensorflow as tf

from tests.support import strategies
from tests.support.runs import STEPS, checkpoint_tensors, run_config


@pytest.mark.slow
class _ExactResume(tf.test.TestCase):
    """A run stopped and resumed at 3 random iterations ends with the same checkpoint, bit for
    bit, as the run without stops (one class per strategy, so that a parallel run gives them
    two processes)."""

    def _check(self, name, strategy_fn=None):
        if strategy_fn is not None and strategy_fn() is None:
            self.skipTest("needs two logical CPUs")
        cuts = sorted(random.Random(name).sample(range(1, STEPS), 3))
        whole = run_config(name, os.path.join(self.get_temp_dir(), name, "whole"), STEPS,
                           strategy_fn)
        cut_dir = os.path.join(self.get_temp_dir(), name, "cut")
        for step in cuts + [STEPS]:
            resumed = run_config(name, cut_dir, step, strategy_fn)
            self.assertTrue(resumed.endswith(f"ckpt-{step}"), resumed)
        want, got = checkpoint_tensors(whole), checkpoint_tensors(resumed)
        self.assertEqual(sorted(want), sorted(got))
        different = [k for k in want if want[k].dtype != got[k].dtype
                     or not np.array_equal(want[k], got[k])]
        self.assertEqual(different, [], f"{name}, cut at {cuts}: {len(different)} of "
                                        f"{len(want)} tensors differ")
        return want


class ExactResumeTest(_ExactResume):

    def test_fastgan(self):
        tensors = self._check("fastgan")
        self.assertIn("delta/.ATTRIBUTES/all_replicas", tensors)

    def test_sngan(self):
        tensors = self._check("sngan")
        self.assertTrue(any("sn_u" in k or "/u/" in k or k.endswith("u/.ATTRIBUTES/VARIABLE_VALUE")
                            for k in tensors), sorted(tensors)[:20])

    def test_robgan(self):
        self._check("robgan")

    def test_fargan(self):
        self._check("fargan")

    def test_logan(self):
        self._check("logan")


class TwoReplicaExactResumeTest(_ExactResume):

    def test_fastgan_two_replicas(self):
        tensors = self._check("fastgan", strategies.two_cpu_mirrored)
        delta = tensors["delta/.ATTRIBUTES/all_replicas"]
        self.assertEqual(delta.shape[0], 4)  # both replicas' rows of the global batch
        self.assertFalse(np.array_equal(delta[:2], delta[2:]))

    def test_sngan_two_replicas(self):
        self._check("sngan", strategies.two_cpu_mirrored)

    def test_robgan_two_replicas(self):
        self._check("robgan", strategies.two_cpu_mirrored)

    def test_fargan_two_replicas(self):
        self._check("fargan", strategies.two_cpu_mirrored)

    def test_logan_two_replicas(self):
        self._check("logan", strategies.two_cpu_mirrored)


if __name__ == "__main__":
    tf.test.main()
