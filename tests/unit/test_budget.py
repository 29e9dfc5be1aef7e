"""Budget-aware training (`tfgan_fast.run.budget`): durations, the rescaled bindings by hand, the
schedule ending at the last iteration and the recorded length kept on resume
(tests/integration/test_budget.py runs `python -m tfgan_fast.train --budget` end to end)."""

import json
import os
import unittest.mock

import tensorflow as tf

from tests.support import ROOT
from tfgan_fast.run import budget
from tfgan_fast.run import config
from tfgan_fast.run import experiment

TINY_SNGAN = os.path.join(ROOT, "tests", "gin", "race_tiny_sngan.gin")
TINY_FASTGAN = os.path.join(ROOT, "tests", "gin", "race_tiny_fastgan.gin")
QUIET = ["run.evaluator = None", "run.progress = False"]


def _never():
    raise AssertionError("a recorded budget must not be timed again")


class DurationTest(tf.test.TestCase):

    def test_units_and_bad_values(self):
        for text, seconds in (("90s", 90.0), ("30m", 1800.0), ("1.5h", 5400.0), ("1800", 1800.0),
                              (" 2m ", 120.0), (".5m", 30.0)):
            self.assertEqual(budget.parse_duration(text), seconds, text)
        for text in ("0m", "-5s", "30min", "m", "", "1e3s"):
            with self.assertRaisesRegex(budget.BudgetError, f"--budget={text}: expected"):
                budget.parse_duration(text)


class LengthTest(tf.test.TestCase):

    def test_every_step_count_is_rescaled_once(self):
        # A config written for 100,000 iterations with literal horizons, a scoped schedule, an
        # EMA start, a macro and an interval that is off: made 250 iterations long (x 1/400).
        config.parse([TINY_SNGAN], [
            "run.train_steps = 100000", "LinearDecay.total_steps = 100000",
            "g/LinearDecay.total_steps = 60000", "ExponentialHalving.kappa = 20000.0",
            "ExponentialHalving.total_steps = %HORIZON", "HORIZON = 90000",
            "GeneratorEMA.start = 100", "run.checkpoint_every = 5000",
            "run.eval_every = 10", "run.summary_every = 0"])
        configured, bindings = budget.length_bindings(250)
        self.assertEqual(configured, 100000)
        expected = {
            "tfgan_fast.run.train_steps = 250",
            "tfgan_fast.run.checkpoint_every = 12",   # 12.5, rounded to even
            "tfgan_fast.run.eval_every = 1",          # 0.025, at least 1
            "tfgan_fast.run.summary_every = 0",
            "tfgan_fast.algorithms.schedules.LinearDecay.total_steps = 250",
            "g/tfgan_fast.algorithms.schedules.LinearDecay.total_steps = 150",
            "tfgan_fast.algorithms.schedules.ExponentialHalving.kappa = 50.0",
            "HORIZON = 225",
            "tfgan_fast.algorithms.ema.GeneratorEMA.start = 0",             # 0.25 rounds to 0
        }
        self.assertEqual(set(bindings), expected)
        self.assertEqual(bindings[-1], "tfgan_fast.run.train_steps = 250")

    def test_a_macro_length_follows_the_budget(self):
        config.parse([TINY_FASTGAN], [])  # TRAIN_STEPS = 10 for run and ExponentialHalving
        configured, bindings = budget.length_bindings(35)
        self.assertEqual(configured, 10)
        self.assertIn("TRAIN_STEPS = 35", bindings)
        self.assertEqual(bindings.count("TRAIN_STEPS = 35"), 1)

    def test_the_schedule_ends_at_the_last_iteration_and_the_length_is_kept(self):
        model_dir = self.get_temp_dir() + "/run"
        # Written for 100,000 iterations; a budget of 6 s at 0.5 s/it buys 12.
        params = QUIET + ["run.train_steps = 100000", "LinearDecay.total_steps = 100000",
                          "TRAIN_STEPS = 100000"]
        config.parse([TINY_SNGAN], params)
        record = budget.apply(model_dir, 6.0, measure_fn=lambda: 0.5, log=lambda s: None)
        self.assertEqual(record["train_steps"], 12)
        exp = experiment.build(model_dir)
        self.assertEqual(exp.train_steps, 12)
        opt = exp.trainer.g_optimizer
        rates = []
        for step in (0, 6, 11, 12):
            exp.trainer.iteration.assign(step)
            rates.append(float(opt.learning_rate))
        self.assertAllClose(rates, [2e-4, 1e-4, 2e-4 / 12, 0.0])  # linear to 0 at 12
        with open(os.path.join(model_dir, budget.BUDGET_FILE), encoding="utf-8") as f:
            recorded = json.load(f)
        self.assertEqual((recorded["train_steps"], recorded["configured_steps"],
                          recorded["s_per_it"], recorded["budget_seconds"]),
                         (12, 100000, 0.5, 6.0))

        # A resume with an edited length neither times again nor moves the schedule.
        config.parse([TINY_SNGAN], params + ["run.train_steps = 50", "TRAIN_STEPS = 50"])
        again = budget.apply(model_dir, 6.0, measure_fn=_never, log=lambda s: None)
        self.assertEqual(again["bindings"], recorded["bindings"])
        exp = experiment.build(model_dir)
        self.assertEqual(exp.train_steps, 12)
        exp.trainer.iteration.assign(12)
        self.assertAllClose(float(exp.trainer.g_optimizer.learning_rate), 0.0)
        with self.assertRaisesRegex(budget.BudgetError, "records a budget of 6 s, not 9 s"):
            budget.apply(model_dir, 9.0, measure_fn=_never)

    def test_halvings_span_the_budget(self):
        model_dir = self.get_temp_dir() + "/halvings"
        # The paper's CIFAR shape: kappa 80,000 of 240,000 iterations (3 halvings).
        config.parse([TINY_FASTGAN], QUIET + ["run.train_steps = 240000",
                                              "ExponentialHalving.total_steps = None",
                                              "ExponentialHalving.kappa = 80000"])
        budget.apply(model_dir, 3.0, measure_fn=lambda: 0.1, log=lambda s: None)  # 30 it
        exp = experiment.build(model_dir)
        self.assertEqual(exp.train_steps, 30)
        exp.trainer.iteration.assign(30)
        self.assertAllClose(float(exp.trainer.d_optimizer.learning_rate), 2e-4 / 8)

    def test_a_run_started_without_a_budget_refuses_one(self):
        model_dir = self.get_temp_dir() + "/plain"
        os.makedirs(os.path.join(model_dir, "checkpoints"))
        open(os.path.join(model_dir, "checkpoints", "ckpt-3.index"), "w").close()
        with self.assertRaisesRegex(budget.BudgetError, "started without a budget"):
            budget.choose(model_dir, 5.0, measure_fn=_never)
        with unittest.mock.patch.dict(os.environ, {"TF_CONFIG": "{}"}):
            with self.assertRaisesRegex(budget.BudgetError, "several workers"):
                budget.choose(self.get_temp_dir() + "/workers", 5.0, measure_fn=_never)


if __name__ == "__main__":
    tf.test.main()
