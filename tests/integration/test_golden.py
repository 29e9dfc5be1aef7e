"""Golden updates: every method's weights after 3 iterations on tiny nets, 1 device and 2 replicas.

`tests/golden/updates.npz` was written by this module
(`python -m tests.integration.test_golden --write`) from the trainers as they were before methods
became composable parts, and pins their updates:
a refactor that changes any tensor of any method's checkpoint (G, D, both optimisers, the
iteration, FastGAN's perturbation, spectral norm's vectors) fails here. Each tensor is kept as a
fingerprint (its shape, sum, sum of absolute values, sum of squares and up to 16 entries at fixed
positions), which keeps the file small and changes with any change of the update. float32, so
that a CPU without bfloat16 computes the same thing; compared with a float tolerance, since
another CPU may order its sums differently.
"""

import os
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.support import ROOT, strategies
from tests.support.runs import CONFIGS
from tests.support.runs import checkpoint_tensors
from tfgan_fast.run import config
from tfgan_fast.run import experiment

GOLDEN = os.path.join(ROOT, "tests", "golden", "updates.npz")
STEPS = 3
LAYOUTS = ("one_device", "two_replicas")


def _final_tensors(name, layout, model_dir):
    gin_file, params = CONFIGS[name]
    config.parse([os.path.join(ROOT, gin_file)],
                 params + [f"run.train_steps = {STEPS}", "run.mixed_precision = None"])
    kwargs = {}
    if layout == "two_replicas":
        strategy = strategies.two_cpu_mirrored()
        if strategy is None:
            return None
        kwargs["strategy_fn"] = lambda: strategy
    result = experiment.run(model_dir, **kwargs)
    return checkpoint_tensors(result["checkpoint"])


def fingerprint(value):
    """`[shape..., sum, sum |x|, sum x^2, up to 16 entries]` of a tensor, float64."""
    flat = np.asarray(value, np.float64).ravel()
    picks = np.random.default_rng(len(flat)).choice(len(flat), min(16, len(flat)),
                                                    replace=False) if len(flat) else []
    return np.concatenate([np.asarray(np.shape(value), np.float64),
                           [flat.sum(), np.abs(flat).sum(), (flat ** 2).sum()], flat[picks]])


def _load_golden():
    """`{key: fingerprint}` from GOLDEN (one matrix of NaN-padded rows and their keys)."""
    with np.load(GOLDEN) as golden:
        return {str(k): row[~np.isnan(row)] for k, row in zip(golden["keys"], golden["rows"])}


def _key(name, layout, tensor):
    return f"{name}|{layout}|{tensor}"


@pytest.mark.slow
class GoldenUpdateTest(tf.test.TestCase):

    def _check(self, name, layout):
        if not os.path.exists(GOLDEN):
            self.fail(f"{GOLDEN} is missing: python -m tests.integration.test_golden --write")
        got = _final_tensors(name, layout, os.path.join(self.get_temp_dir(), name, layout))
        if got is None:
            self.skipTest("needs two logical CPUs")
        prefix = f"{name}|{layout}|"
        want = {k[len(prefix):]: v for k, v in _load_golden().items() if k.startswith(prefix)}
        got = {k: v for k, v in got.items() if v.dtype != object}
        self.assertEqual(sorted(got), sorted(want))
        for key in want:
            with self.subTest(tensor=key):
                self.assertAllClose(fingerprint(got[key]), want[key], rtol=1e-5, atol=1e-5)


def _add_tests():
    for name in CONFIGS:
        for layout in LAYOUTS:
            def test(self, name=name, layout=layout):
                self._check(name, layout)
            setattr(GoldenUpdateTest, f"test_{name}_{layout}", test)


_add_tests()


def write_golden():
    """Writes `GOLDEN` from the current trainers (run only before a refactor)."""
    import tempfile  # pylint: disable=import-outside-toplevel
    arrays = {}
    with tempfile.TemporaryDirectory() as root:
        for name in CONFIGS:
            for layout in LAYOUTS:
                tensors = _final_tensors(name, layout, os.path.join(root, name, layout))
                if tensors is None:
                    raise RuntimeError("needs two logical CPUs (run through tests/conftest.py's "
                                       "set-up: python -m tests.integration.test_golden --write)")
                for key, value in tensors.items():
                    if value.dtype == object:
                        continue
                    arrays[_key(name, layout, key)] = fingerprint(value)
    os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
    width = max(len(v) for v in arrays.values())
    rows = np.full([len(arrays), width], np.nan)
    for i, value in enumerate(arrays.values()):
        rows[i, :len(value)] = value
    np.savez_compressed(GOLDEN, keys=np.asarray(list(arrays)), rows=rows)
    print(f"wrote {len(arrays)} tensors to {GOLDEN} ({os.path.getsize(GOLDEN) / 1024:.0f} KiB)")


if __name__ == "__main__":
    if "--write" in sys.argv:
        import tests.conftest  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
        write_golden()
    else:
        tf.test.main()
