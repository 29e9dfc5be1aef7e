"""The fair race: its arithmetic and tables by hand; tuning, seeds, failures and resume through
its runner seam (injected metrics, no training). tests/integration/test_race.py runs
tools/race.py end to end."""

import csv
import math
import os

import tensorflow as tf

from tests.support.runs import RACE_TINY, race_state, read_csv
from tfgan_fast.run import budget
from tfgan_fast.perf import race


class ArithmeticTest(tf.test.TestCase):

    def test_iterations_and_evaluation_spacing(self):
        self.assertEqual(race.iterations_for(1800, 0.24), 7500)
        self.assertEqual(race.iterations_for(1800, 0.7), 2571)   # 1800 / 0.7 = 2571.4
        self.assertEqual(race.iterations_for(1, 5.0), 1)         # never zero
        self.assertEqual(race.eval_every_for(7500, 10), 750)
        self.assertEqual(race.eval_every_for(2571, 10), 257)     # evaluations at 257k .. 2570, 2571
        self.assertEqual(race.eval_every_for(5, 10), 1)

    def test_time_to_reach_interpolates_between_evaluations(self):
        points = [(10.0, 100.0), (20.0, 60.0), (30.0, 40.0)]
        # 60 -> 40 between t = 20 and 30: FID 50 is crossed half way.
        self.assertAlmostEqual(race.time_to_reach(points, 50.0), 25.0)
        self.assertAlmostEqual(race.time_to_reach(points, 60.0), 20.0)
        self.assertAlmostEqual(race.time_to_reach(points, 100.0), 10.0)  # the first evaluation
        self.assertIsNone(race.time_to_reach(points, 39.9))
        self.assertAlmostEqual(race.time_to_reach([(1.0, math.nan), (2.0, 80.0), (4.0, 40.0)],
                                                  60.0), 3.0)

    def test_timing_warms_every_config_after_all_builds_and_records_each_round(self):
        calls = []

        def fake_build(config):
            calls.append(("build", config.name))

            def run(n):
                calls.append((config.name, n))
                return [0.1 if config.name == "a" else 0.3] * n
            return run, 10

        original = race._build_for_timing  # pylint: disable=protected-access
        race._build_for_timing = fake_build  # pylint: disable=protected-access
        try:
            got = race.measure_speeds([race.parse_config(f"a={RACE_TINY['fastgan']}"),
                                       race.parse_config(f"b={RACE_TINY['sngan']}")],
                                      rounds=2, iterations=4, warmup=2, log=lambda _: None)
        finally:
            race._build_for_timing = original  # pylint: disable=protected-access
        # Both built, then both warmed (warmup + 1 untimed), then two interleaved timed rounds.
        self.assertEqual(calls, [("build", "a"), ("build", "b"), ("a", 3), ("b", 3),
                                 ("a", 4), ("b", 4), ("a", 4), ("b", 4)])
        self.assertAlmostEqual(got["a"]["s_per_it"], 0.1)
        self.assertEqual(got["b"]["rounds"], [0.3, 0.3])
        self.assertEqual(got["b"]["configured_steps"], 10)

    def test_specs_and_their_errors(self):
        c = race.parse_config(f"fast={RACE_TINY['fastgan']}+{RACE_TINY['sngan']}", ["run.seed = 1"])
        self.assertEqual((c.name, c.gin_files, c.gin_params),
                         ("fast", [RACE_TINY["fastgan"], RACE_TINY["sngan"]], ["run.seed = 1"]))
        for spec, message in ((RACE_TINY["fastgan"], "expected NAME=GIN_FILE"),
                              (f"a/b={RACE_TINY['fastgan']}", "name 'a/b'"),
                              ("fast=/nonexistent.gin", "'/nonexistent.gin' does not exist"),
                              ("fast=", "no gin file")):
            with self.subTest(spec=spec):
                with self.assertRaisesRegex(race.RaceError, message):
                    race.parse_config(spec)
        # Pieces holding '=' are this config's own bindings, after the race-wide ones.
        c = race.parse_config(f"s={RACE_TINY['fastgan']}+FastGANLoss.alpha_gc=0.2+run.seed=3",
                              ["run.seed = 1"])
        self.assertEqual((c.gin_files, c.gin_params),
                         ([RACE_TINY["fastgan"]], ["run.seed = 1", "FastGANLoss.alpha_gc=0.2",
                                                   "run.seed=3"]))
        with self.assertRaisesRegex(race.RaceError, "no gin file"):
            race.parse_config("s=FastGANLoss.alpha_gc=0.2")
        a = race.parse_config(f"a={RACE_TINY['fastgan']}")
        with self.assertRaisesRegex(race.RaceError, "unique, repeated: a"):
            race.check_configs([a, a])
        with self.assertRaisesRegex(race.RaceError, "--baselines=sn: sn is not a --config"):
            race.check_configs([a], ["sn"])
        with self.assertRaisesRegex(race.RaceError, "at least one"):
            race.check_configs([])

    def test_a_race_directory_refuses_other_arguments(self):
        race_dir = self.get_temp_dir()
        a = race.parse_config(f"a={RACE_TINY['fastgan']}")
        race.save_state(race_dir, race.load_state(race_dir, 60.0, 10, [a]))
        with self.assertRaisesRegex(race.RaceError, "budget_seconds = 60.0, not 30.0"):
            race.load_state(race_dir, 30.0, 10, [a])
        with self.assertRaisesRegex(race.RaceError, "num_evals = 10, not 5"):
            race.load_state(race_dir, 60.0, 5, [a])
        other = race.parse_config(f"a={RACE_TINY['sngan']}")
        with self.assertRaisesRegex(race.RaceError, "config 'a' was started with"):
            race.load_state(race_dir, 60.0, 10, [other])
        # A new contestant joins the same race.
        b = race.parse_config(f"b={RACE_TINY['sngan']}")
        self.assertEqual(sorted(race.load_state(race_dir, 60.0, 10, [a, b])["configs"]),
                         ["a", "b"])
        with self.assertRaisesRegex(race.RaceError, "iterations = None, not 100: rerun with "
                                    "the arguments it was started with"):
            race.load_state(race_dir, 60.0, 10, [a], iterations=100)
        # A race at equal iterations keeps its count.
        sweep_dir = self.get_temp_dir() + "/sweep"
        os.makedirs(sweep_dir)
        race.save_state(sweep_dir, race.load_state(sweep_dir, None, 10, [a], iterations=100))
        self.assertEqual(race.load_state(sweep_dir, None, 10, [a], iterations=100)
                         ["iterations"], 100)
        with self.assertRaisesRegex(race.RaceError, "iterations = 100, not 50"):
            race.load_state(sweep_dir, None, 10, [a], iterations=50)
        with self.assertRaisesRegex(race.RaceError, "seeds = 1, not 3"):
            race.load_state(race_dir, 60.0, 10, [a], seeds=3)
        with self.assertRaisesRegex(race.RaceError, "tuning = None, not"):
            race.load_state(race_dir, 60.0, 10, [a], tuning={"lrs": [1e-3]})


def _row(config, seed, step, fid, s_per_it, acc=None, precision=None, recall=None):
    return {"config": config, "seed": seed, "step": step, "equivalent_seconds": step * s_per_it,
            "fid": fid, "is_mean": 3.0, "is_std": 0.1, "kid": 1.0, "class_acc": acc,
            "precision": precision, "recall": recall, "classifier": "c"}


class SummaryTest(tf.test.TestCase):

    def test_finals_are_means_over_the_last_evaluations_then_over_seeds(self):
        state = {"seeds": 2, "last": 2, "configs": {
            "fast": {"s_per_it": 0.5, "runs": {"0": {"status": "done"},
                                               "1": {"status": "done"}}},
            "sn": {"s_per_it": 2.0, "runs": {"0": {"status": "done"},
                                             "1": {"status": "failed",
                                                   "error": "exit 1: ValueError: bad"}}},
            "broken": {"error": "ValueError: no data", "runs": {}}}}
        rows = [
            # fast, seed 0: FID 90, 30, 20 at 10, 20, 30 s; final mean(30, 20) = 25.
            _row("fast", 0, 20, 90.0, 0.5, 0.5), _row("fast", 0, 40, 30.0, 0.5, 0.7),
            _row("fast", 0, 60, 20.0, 0.5, 0.9),
            # fast, seed 1: final mean(60, 50) = 55; never below 50 before 30 s.
            _row("fast", 1, 20, 95.0, 0.5, 0.4), _row("fast", 1, 40, 60.0, 0.5, 0.6),
            _row("fast", 1, 60, 50.0, 0.5, 0.6),
            # sn, seed 0 only: final mean(50, 40) = 45.
            _row("sn", 0, 5, 80.0, 2.0), _row("sn", 0, 10, 50.0, 2.0),
            _row("sn", 0, 15, 40.0, 2.0)]
        summaries, target, name = race.summarise(rows, state, baselines=("sn",))
        self.assertEqual((target, name), (45.0, "sn's final"))
        by = {s["config"]: s for s in summaries}
        fast = by["fast"]
        self.assertEqual(fast["fid"][0], 40.0)                          # (25 + 55) / 2
        self.assertAlmostEqual(fast["fid"][1], math.sqrt(2 * 15.0 ** 2))  # sample sd
        self.assertAlmostEqual(fast["class_acc"][0], (0.8 + 0.6) / 2)
        self.assertEqual(fast["best_fid"][0], 35.0)                     # (20 + 50) / 2
        # Seed 0 crosses 45 between 10 s (90) and 20 s (30): 10 + 10 * 45 / 60 = 17.5 s.
        self.assertEqual(fast["reached"], 1)
        self.assertAlmostEqual(fast["time_to_target"][0], 17.5)
        self.assertIsNone(fast["time_to_target"][1])
        self.assertEqual((by["sn"]["seeds_done"], by["sn"]["fid"]), (1, (45.0, None)))
        table = race.markdown_table(summaries, target, name, "toy", last=2)
        self.assertIn("mean over each seed's last 2 evaluations", table)
        self.assertIn("| fast | – | 0.500 | 60 | 30.0 s | 2/2 | 40.00 ± 21.21 | "
                      "35.00 ± 21.21 | 70.0% ± 14.1% | – | – | 17.5 s (1 of 2 seeds; the others "
                      "never) |  |", table)
        # sn crosses its own final 45 half way from 50 (20 s) to 40 (30 s).
        self.assertIn("| sn | – | 2.000 | 15 | 30.0 s | 1/2 | 45.00 | 40.00 | – | – | – | "
                      "25.0 s | exit 1: ValueError: bad |", table)
        self.assertIn("| broken | – | – | – | – | – | – | – | – | – | – | – "
                      "| ValueError: no data |", table)
        self.assertIn("time to FID 45.00 (sn's final)", table)
        # An explicit target replaces the baselines'.
        summaries, target, name = race.summarise(rows, state, ("sn",), target_fid=95.0)
        self.assertEqual((target, name), (95.0, "--target_fid"))
        self.assertEqual({s["config"]: s.get("reached") for s in summaries}["fast"], 2)

    def test_results_refuse_mixed_conventions_and_state_the_one_used(self):
        from tfgan_fast.eval import callback  # pylint: disable=import-outside-toplevel
        race_dir = self.get_temp_dir()
        state = {"seeds": 1, "last": 3, "configs": {
            "a": {"s_per_it": 1.0, "runs": {"0": {"status": "done"}}},
            "b": {"s_per_it": 2.0, "runs": {"0": {"status": "done"}}}}}

        def write(name, convention):
            _write_metrics(os.path.join(race_dir, name, "seed_0"), [50.0], 2,
                           convention=convention)

        write("a", "real: x train (10 images); generated: 5; no resize")
        write("b", "real: x train (10 images); generated: 5; no resize")
        table, _, _ = race.write_results(race_dir, state)
        self.assertTrue(table.startswith("Measured with real: x train (10 images); generated: "
                                         "5; no resize.\n"))
        rows = read_csv(os.path.join(race_dir, race.CSV_FILE))
        self.assertEqual([(r["config"], r["seed"], r["recall"]) for r in rows],
                         [("a", "0", "0.6"), ("b", "0", "0.6")])
        self.assertGreater(os.path.getsize(os.path.join(race_dir, race.PLOT_FILE)), 1000)
        self.assertGreater(os.path.getsize(os.path.join(race_dir, race.PR_PLOT_FILE)), 1000)
        write("b", "real: x test (10 images); generated: 5; no resize")
        with self.assertRaisesRegex(race.RaceError, "different conventions"):
            race.write_results(race_dir, state)


def _write_metrics(model_dir, fids, eval_every, convention="c"):
    """A run's metrics.csv: FID `fids[i]` at iteration `(i + 1) * eval_every`."""
    from tfgan_fast.eval import callback  # pylint: disable=import-outside-toplevel
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, callback.METRICS_FILENAME), "w", newline="",
              encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(callback.CSV_COLUMNS)
        for i, fid in enumerate(fids):
            w.writerow([(i + 1) * eval_every, 1.0, 8, 2.0, 0.1, fid, 0.1, "clf", 1.0, 0.5, 0.7,
                        0.6, 0.9, 0.8, convention])


class FakeRunner:
    """The runner seam: records each run (`config/point` of a tuning run, the directory of a
    race run) and writes the metrics `curve(phase, config, (schedule, lr), seed)` gives,
    evaluated as the run's budget record says; a curve of None fails the run; `interrupt_at`
    raises KeyboardInterrupt on that call (1-based), as Ctrl-C would."""

    def __init__(self, curve, interrupt_at=None):
        self.curve, self.interrupt_at, self.calls = curve, interrupt_at, []

    def __call__(self, cmd, log_path, on_progress=None):
        del log_path, on_progress
        params = [c.split("=", 1)[1] for c in cmd if c.startswith("--gin_param=")]
        model_dir = [c.split("=", 1)[1] for c in cmd if c.startswith("--model_dir=")][0]
        parent, key = os.path.split(model_dir)
        phase = "tuning" if os.path.basename(os.path.dirname(parent)) == "tuning" else "race"
        config = os.path.basename(parent)
        self.calls.append(os.path.join(config, key) if phase == "tuning" else model_dir)
        if self.interrupt_at == len(self.calls):
            raise KeyboardInterrupt
        shape = "constant" if "make_optimizer.schedule = None" in params else "own"
        lr = [float(p.split("= ")[1]) for p in params
              if p.startswith("make_optimizer.learning_rate")][-1]
        seed = int([p for p in params if p.startswith("run.seed")][-1].split("= ")[1])
        fids = self.curve(phase, config, (shape, lr), seed)
        if fids is None:
            return 1, "ValueError: this point diverged"
        every = [b for b in budget.read_record(model_dir)["bindings"]
                 if b.startswith("run.eval_every")][0]
        _write_metrics(model_dir, fids, int(every.split("= ")[1]))
        return 0, ""


# Tuning curves (4 evaluations each). The rule, the mean of the last 3, picks a's own_lr0.001
# (35.33); the last evaluation alone would pick constant_lr0.001 (39), the best one too (20).
CURVES = {
    "a": {("own", 1e-4): [90, 60, 50, 40], ("own", 1e-3): [80, 30, 31, 45],
          ("constant", 1e-4): [95, 70, 65, 60], ("constant", 1e-3): [85, 50, 20, 39]},
    "b": {("own", 1e-4): [90, 80, 70, 60], ("own", 1e-3): [90, 80, 70, 65],
          ("constant", 1e-4): None, ("constant", 1e-3): [90, 50, 45, 40]},
}


def _curve(phase, config, point, seed):
    """CURVES in tuning; in the race, seed s: 70+s, 60+s, 50+2s, 40+4s."""
    if phase == "tuning":
        return CURVES[config][point]
    return [70 + seed, 60 + seed, 50 + 2 * seed, 40 + 4 * seed]


class ProtocolTest(tf.test.TestCase):
    """Tuning, choices, seeds, failures, resume and HParams through `race.execute` with an
    injected runner: no training, exact metrics."""

    def _state(self, race_dir):
        os.makedirs(race_dir)
        configs = [race.parse_config(f"{n}={RACE_TINY['fastgan']}") for n in ("a", "b")]
        state = race.load_state(race_dir, 20.0, 4, configs, seeds=2, tuning={
            "lrs": [1e-4, 1e-3], "schedules": ["own", "constant"], "budget_seconds": 2.0},
            last=3)
        for c in state["configs"].values():
            c.update(s_per_it=0.5, configured_steps=10)  # as measure_speeds records them
        return state

    def _runner(self, interrupt_at=None):
        return FakeRunner(_curve, interrupt_at)

    def test_tuning_chooses_by_the_rule_and_the_race_runs_every_seed(self):
        race_dir = self.get_temp_dir() + "/protocol"
        state = self._state(race_dir)
        runner = self._runner()
        race.execute(race_dir, state, ["a", "b"], runner=runner, log=lambda s: None)
        a, b = state["configs"]["a"], state["configs"]["b"]
        self.assertEqual(a["chosen"], "own_lr0.001")
        self.assertAlmostEqual(a["grid"]["own_lr0.001"]["score"], (30 + 31 + 45) / 3)
        self.assertAlmostEqual(a["grid"]["constant_lr0.001"]["score"], (50 + 20 + 39) / 3)
        # b's failing point is recorded; the others ran and b chose among them.
        self.assertEqual(b["grid"]["constant_lr0.0001"]["status"], "failed")
        self.assertIn("this point diverged", b["grid"]["constant_lr0.0001"]["error"])
        self.assertEqual(b["chosen"], "constant_lr0.001")
        self.assertEqual(race.failures(state, ["a", "b"]),
                         [("b tuning constant_lr0.0001",
                           "exit 1: ValueError: this point diverged")])
        # 8 tuning runs, then 2 seeds of each config at its chosen point.
        self.assertEqual(len(runner.calls), 12)
        self.assertEqual(runner.calls[8:], [os.path.join(race_dir, n, f"seed_{s}")
                                            for n in ("a", "b") for s in (0, 1)])
        for name, seed in (("a", 0), ("a", 1), ("b", 1)):
            run_dir = os.path.join(race_dir, name, f"seed_{seed}")
            record = budget.read_record(run_dir)
            self.assertEqual((record["train_steps"], record["budget_seconds"]), (40, 20.0))
            self.assertEqual(record["bindings"][-2:], ["run.eval_every = 10",
                                                       "run.checkpoint_every = 10"])
        tune = budget.read_record(os.path.join(race_dir, "tuning", "a", "own_lr0.001"))
        self.assertEqual(tune["train_steps"], 4)   # 2 s at 0.5 s/it
        cmd = race.train_command(b, race.race_jobs(state, race_dir, ["b"])[1])
        self.assertIn("--gin_param=make_optimizer.schedule = None", cmd)
        self.assertIn("--gin_param=make_optimizer.learning_rate = 0.001", cmd)
        self.assertIn("--gin_param=run.seed = 1", cmd)
        self.assertIn("--gin_param=run.budget_seconds = 20.0", cmd)

        # The results: the tuning table and csv, the race over seeds, HParams per run.
        race_table, tuning, _ = race.write_results(race_dir, state)
        self.assertIn("| a | own | 0.001 | 4 | **35.33** (chosen) |  |", tuning)
        self.assertIn("| b | constant | 0.0001 | 4 | – | exit 1: ValueError: this point "
                      "diverged |", tuning)
        rows = read_csv(os.path.join(race_dir, race.TUNING_CSV_FILE))
        self.assertEqual(len(rows), 8)
        self.assertEqual([r["point"] for r in rows if r["chosen"] == "True"],
                         ["own_lr0.001", "constant_lr0.001"])
        # What tuning.png draws: scores by lr per schedule (b's failed point left out).
        curves, chosen = race.tuning_curves(state)
        self.assertEqual(curves["a"]["constant"], [(1e-4, 65.0), (1e-3, 109 / 3)])
        self.assertEqual(curves["b"]["constant"], [(1e-3, 45.0)])
        self.assertEqual(chosen, {"a": (1e-3, 106 / 3), "b": (1e-3, 45.0)})
        # Seed s: 70+s, 60+s, 50+2s, 40+4s: finals 50 and 52.33 -> 51.17 ± 1.65.
        self.assertIn("| a | own_lr0.001 | 0.500 | 40 | 20.0 s | 2/2 | 51.17 ± 1.65 |",
                      race_table)
        events = tf.io.gfile.glob(os.path.join(race_dir, "a", "seed_1", race.HPARAMS_DIR, "*"))
        self.assertLen(events, 1)
        self.assertEqual(_hparams_of(events[0]), (
            {"config": "a", "phase": "race", "seed": 1.0, "lr": 0.001, "schedule": "own"},
            {"final/fid": round((61 + 52 + 44) / 3, 4), "final/class_acc": 0.5,
             "final/precision": 0.7, "final/recall": 0.6}))

    def test_the_grid_refuses_a_scoped_rate_it_cannot_reach(self):
        race_dir = self.get_temp_dir() + "/scoped"
        os.makedirs(race_dir)
        configs = [race.parse_config(f"ttur={RACE_TINY['fastgan']}+g/make_optimizer.learning_rate"
                                     "=1e-4")]
        state = race.load_state(race_dir, 20.0, 4, configs, tuning={
            "lrs": [1e-3], "schedules": ["constant"], "budget_seconds": 2.0})
        state["configs"]["ttur"].update(s_per_it=0.5, configured_steps=10)
        runner = FakeRunner(_curve)
        race.execute(race_dir, state, ["ttur"], runner=runner, log=lambda s: None)
        self.assertEqual(runner.calls, [])
        self.assertTrue(state["configs"]["ttur"]["grid"]["constant_lr0.001"]["error"].startswith(
            "RaceError: config 'ttur' sets its learning rate in the gin scope 'g' "
            "(make_optimizer)"))
        self.assertEqual(state["configs"]["ttur"]["error"], "every tuning point failed")

    def test_equal_iterations_with_per_config_bindings(self):
        """A sweep: --iterations instead of a budget, one binding per config, no grid."""
        race_dir = self.get_temp_dir() + "/sweep"
        configs = [race.parse_config(f"{n}={RACE_TINY['fastgan']}+FastGANLoss.alpha_gc={a}")
                   for n, a in (("a", "0.0"), ("b", "0.5"))]
        state = race.load_state(race_dir, None, 2, configs, iterations=7)
        for c in state["configs"].values():
            c.update(s_per_it=0.25, configured_steps=10)
        self.assertEqual(race.tuning_jobs(state, race_dir, ["a", "b"]), [])
        jobs = race.race_jobs(state, race_dir, ["a", "b"])
        self.assertEqual([(j.config, j.iterations, j.eval_every, j.budget_seconds)
                          for j in jobs], [("a", 7, 3, 1.75), ("b", 7, 3, 1.75)])
        cmd = race.train_command(state["configs"]["b"], jobs[1])
        self.assertIn("--gin_param=FastGANLoss.alpha_gc=0.5", cmd)
        self.assertIn("--gin_param=run.seed = 0", cmd)

    def test_resume_mid_tuning_and_mid_race(self):
        race_dir = self.get_temp_dir() + "/resume"
        state = self._state(race_dir)
        first = self._runner(interrupt_at=3)
        with self.assertRaises(KeyboardInterrupt):
            race.execute(race_dir, state, ["a", "b"], runner=first, log=lambda s: None)
        saved = race_state(race_dir)
        grid = saved["configs"]["a"]["grid"]
        self.assertEqual([grid[k]["status"] for k in ("own_lr0.0001", "own_lr0.001",
                                                      "constant_lr0.0001")],
                         ["done", "done", "running"])
        # A new invocation, from race.json: the interrupted point first, the done ones never.
        state = race.load_state(race_dir, 20.0, 4, [race.parse_config(f"{n}={RACE_TINY['fastgan']}")
                                                    for n in ("a", "b")], seeds=2,
                                tuning=saved["tuning"], last=3)
        second = self._runner(interrupt_at=10)  # 6 tuning points left, then a seed 0, a seed 1
        with self.assertRaises(KeyboardInterrupt):
            race.execute(race_dir, state, ["a", "b"], runner=second, log=lambda s: None)
        self.assertEqual(second.calls[:6], [os.path.join("a", "constant_lr0.0001"),
                                            os.path.join("a", "constant_lr0.001")] + [
            os.path.join("b", k) for k in ("own_lr0.0001", "own_lr0.001", "constant_lr0.0001",
                                          "constant_lr0.001")])
        self.assertEqual(second.calls[6:], [os.path.join(race_dir, "a", "seed_0"),
                                            os.path.join(race_dir, "a", "seed_1"),
                                            os.path.join(race_dir, "b", "seed_0"),
                                            os.path.join(race_dir, "b", "seed_1")])
        state = race_state(race_dir)
        self.assertEqual(state["configs"]["b"]["runs"]["1"]["status"], "running")
        third = self._runner()
        race.execute(race_dir, state, ["a", "b"], runner=third, log=lambda s: None)
        # The failed tuning point of b is not retried once b has chosen; b's seed 1 resumes.
        self.assertEqual(third.calls, [os.path.join(race_dir, "b", "seed_1")])
        self.assertEqual(state["configs"]["a"]["chosen"], "own_lr0.001")


def _hparams_of(path):
    """`(hparams, {tag: value})` of an HParams event file."""
    from tensorboard.plugins.hparams import metadata  # pylint: disable=import-outside-toplevel
    hparams, scalars = {}, {}
    for record in tf.data.TFRecordDataset(path):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for v in event.summary.value:
            if v.metadata.plugin_data.plugin_name == metadata.PLUGIN_NAME:
                info = metadata.parse_session_start_info_plugin_data(
                    v.metadata.plugin_data.content)
                for k, value in info.hparams.items():
                    kind = value.WhichOneof("kind")
                    hparams[k] = getattr(value, kind)
            else:
                scalars[v.tag] = float(tf.make_ndarray(v.tensor))
    return hparams, {k: round(v, 4) for k, v in scalars.items()}


class SeedTest(tf.test.TestCase):

    def test_the_run_seed_changes_the_initialisation_and_the_data_order(self):
        from tfgan_fast.run import config  # pylint: disable=import-outside-toplevel
        from tfgan_fast.run import experiment  # pylint: disable=import-outside-toplevel
        built = []
        for seed in (0, 1, 0):
            config.parse([RACE_TINY["fastgan"]], ["run.evaluator = None", f"run.seed = {seed}"])
            exp = experiment.build(self.get_temp_dir() + f"/seed{seed}_{len(built)}")
            _, labels = next(iter(exp.data.make(8, seed=seed)))
            built.append((exp.trainer.generator.trainable_variables[0].numpy(), labels.numpy()))
        self.assertAllEqual(built[0][0], built[2][0])  # the same seed, the same run
        self.assertAllEqual(built[0][1], built[2][1])
        self.assertNotAllClose(built[0][0], built[1][0])
        self.assertNotAllEqual(built[0][1], built[1][1])


if __name__ == "__main__":
    tf.test.main()
