"""`python -m tfgan_fast.train --budget` end to end on a tiny config: the budget is timed, recorded
and kept on resume (tests/unit/test_budget.py checks its arithmetic)."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.support import ROOT
from tfgan_fast.run import budget

TINY_SNGAN = os.path.join(ROOT, "tests", "gin", "race_tiny_sngan.gin")


@pytest.mark.slow
class TrainBudgetTest(tf.test.TestCase):

    def test_train_with_a_budget_then_resume(self):
        model_dir = os.path.join(self.get_temp_dir(), "budget_run")
        cmd = [sys.executable, "-m", "tfgan_fast.train", f"--gin_file={TINY_SNGAN}",
               f"--model_dir={model_dir}", "--budget=2s", "--gin_param=run.evaluator = None",
               "--gin_param=run.progress = False"]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [ROOT] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
        first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                               check=False)
        self.assertEqual(first.returncode, 0, first.stderr[-3000:])
        record = budget.read_record(model_dir)
        n = record["train_steps"]
        self.assertEqual(n, budget.iterations_for(2.0, record["s_per_it"]))
        self.assertIn(f"Budget 2s at {record['s_per_it']:.3f} s/it: {n:,} iterations",
                      first.stdout)
        self.assertIn(f"Done: iteration {n},", first.stdout)
        with open(os.path.join(model_dir, "operative_config.gin"), encoding="utf-8") as f:
            self.assertIn(f"run.train_steps = {n}\n", f.read())
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                                check=False)
        self.assertEqual(second.returncode, 0, second.stderr[-3000:])
        self.assertIn(f"(iteration {n} of {n})", second.stdout)
        self.assertEqual(budget.read_record(model_dir), record)  # not timed again


if __name__ == "__main__":
    tf.test.main()
