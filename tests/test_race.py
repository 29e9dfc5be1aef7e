"""The time-to-quality race: its arithmetic by hand, and tools/race.py end to end on tiny configs
(a failing config, a race killed mid-training and continued, bad arguments)."""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from tfgan_fast import race

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = {name: os.path.join(ROOT, "tests", "gin", f"race_tiny_{name}.gin")
        for name in ("fastgan", "sngan", "bad_data", "bad_classifier")}
TIMING = ["--timing_rounds=2", "--timing_iterations=2", "--timing_warmup=1"]


def _env():
    return dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")


def _race_cmd(race_dir, budget, configs, extra=()):
    return ([sys.executable, os.path.join(ROOT, "tools", "race.py"), f"--race_dir={race_dir}",
             f"--budget_seconds={budget}"] + [f"--config={c}" for c in configs] + TIMING
            + list(extra))


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _state(race_dir):
    with open(os.path.join(race_dir, race.STATE_FILE), encoding="utf-8") as f:
        return json.load(f)


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

    def test_summary_times_every_config_to_the_best_baselines_final_fid(self):
        state = {"configs": {
            "fast": {"status": "done", "s_per_it": 0.5, "iterations": 40},
            "sn": {"status": "done", "s_per_it": 2.0, "iterations": 10},
            "rob": {"status": "done", "s_per_it": 4.0, "iterations": 5},
            "broken": {"status": "failed", "error": "ValueError: bad"}}}

        def row(config, step, fid, acc=0.5):
            return {"config": config, "step": step,
                    "equivalent_seconds": step * state["configs"][config]["s_per_it"],
                    "fid": fid, "is_mean": 3.0, "is_std": 0.1, "kid": 1.0, "class_acc": acc,
                    "classifier": "c"}

        rows = [row("fast", 20, 90.0), row("fast", 40, 30.0),   # t = 10 s, 20 s
                row("sn", 5, 80.0), row("sn", 10, 50.0),         # t = 10 s, 20 s
                row("rob", 5, 70.0, acc=None)]                    # t = 20 s
        summaries, target, name = race.summarise(rows, state, baselines=("sn", "rob"))
        self.assertEqual((target, name), (50.0, "sn"))  # sn's final 50 beats rob's 70
        by = {s["config"]: s for s in summaries}
        # fast: 90 at 10 s, 30 at 20 s: FID 50 at 10 + 10 * (90 - 50) / (90 - 30) = 16.67 s.
        self.assertAlmostEqual(by["fast"]["time_to_target"], 10 + 10 * 40 / 60)
        self.assertAlmostEqual(by["sn"]["time_to_target"], 20.0)
        self.assertIsNone(by["rob"]["time_to_target"])
        self.assertEqual((by["fast"]["final_fid"], by["fast"]["best_fid"]), (30.0, 30.0))
        self.assertNotIn("final_fid", by["broken"])
        table = race.markdown_table(summaries, target, name, "toy classifier")
        self.assertIn("| fast | 0.500 | 40 | 20.0 s | 30.00 | 30.00 | 3.00 ± 0.10 | 50.0% | "
                      "16.7 s |  |", table)
        self.assertIn("| rob | 4.000 | 5 | 20.0 s | 70.00 | 70.00 | 3.00 ± 0.10 | – | "
                      "not reached |  |", table)
        self.assertIn("| broken | – | – | – | – | – | – | – | – | ValueError: bad |", table)
        self.assertIn("final FID (toy classifier)", table)
        self.assertIn("time to FID 50.00 (sn's final)", table)

    def test_results_refuse_mixed_conventions_and_state_the_one_used(self):
        from tfgan_fast.eval import callback  # pylint: disable=import-outside-toplevel
        race_dir = self.get_temp_dir()
        state = {"configs": {"a": {"status": "done", "s_per_it": 1.0, "iterations": 2},
                             "b": {"status": "done", "s_per_it": 2.0, "iterations": 2}}}

        def write(name, convention):
            os.makedirs(os.path.join(race_dir, name), exist_ok=True)
            with open(os.path.join(race_dir, name, callback.METRICS_FILENAME), "w",
                      newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(callback.CSV_COLUMNS)
                w.writerow([2, 1.0, 8, 2.0, 0.1, 50.0, 0.1, "clf", 1.0, 0.5, 0.7, 0.6, 0.9,
                            0.8, convention])

        write("a", "real: x train (10 images); generated: 5; no resize")
        write("b", "real: x train (10 images); generated: 5; no resize")
        table, _ = race.write_results(race_dir, state)
        self.assertTrue(table.startswith("Measured with real: x train (10 images); generated: "
                                         "5; no resize.\n"))
        rows = _read_csv(os.path.join(race_dir, race.CSV_FILE))
        self.assertEqual([r["recall"] for r in rows], ["0.6", "0.6"])
        self.assertGreater(os.path.getsize(os.path.join(race_dir, race.PR_PLOT_FILE)), 1000)
        write("b", "real: x test (10 images); generated: 5; no resize")
        with self.assertRaisesRegex(race.RaceError, "different conventions"):
            race.write_results(race_dir, state)

    def test_specs_and_their_errors(self):
        c = race.parse_config(f"fast={TINY['fastgan']}+{TINY['sngan']}", ["run.seed = 1"])
        self.assertEqual((c.name, c.gin_files, c.gin_params),
                         ("fast", [TINY["fastgan"], TINY["sngan"]], ["run.seed = 1"]))
        for spec, message in ((TINY["fastgan"], "expected NAME=GIN_FILE"),
                              (f"a/b={TINY['fastgan']}", "name 'a/b'"),
                              ("fast=/nonexistent.gin", "'/nonexistent.gin' does not exist"),
                              ("fast=", "no gin file")):
            with self.subTest(spec=spec):
                with self.assertRaisesRegex(race.RaceError, message):
                    race.parse_config(spec)
        # Pieces holding '=' are this config's own bindings, after the race-wide ones.
        c = race.parse_config(f"s={TINY['fastgan']}+FastGANLoss.alpha_gc=0.2+run.seed=3",
                              ["run.seed = 1"])
        self.assertEqual((c.gin_files, c.gin_params),
                         ([TINY["fastgan"]], ["run.seed = 1", "FastGANLoss.alpha_gc=0.2",
                                              "run.seed=3"]))
        with self.assertRaisesRegex(race.RaceError, "no gin file"):
            race.parse_config("s=FastGANLoss.alpha_gc=0.2")
        a = race.parse_config(f"a={TINY['fastgan']}")
        with self.assertRaisesRegex(race.RaceError, "unique, repeated: a"):
            race.check_configs([a, a])
        with self.assertRaisesRegex(race.RaceError, "--baselines=sn: sn is not a --config"):
            race.check_configs([a], ["sn"])
        with self.assertRaisesRegex(race.RaceError, "at least one"):
            race.check_configs([])

    def test_a_race_directory_refuses_other_arguments(self):
        race_dir = self.get_temp_dir()
        a = race.parse_config(f"a={TINY['fastgan']}")
        race.save_state(race_dir, race.load_state(race_dir, 60.0, 10, [a]))
        with self.assertRaisesRegex(race.RaceError, "budget_seconds = 60.0, not 30.0"):
            race.load_state(race_dir, 30.0, 10, [a])
        with self.assertRaisesRegex(race.RaceError, "num_evals = 10, not 5"):
            race.load_state(race_dir, 60.0, 5, [a])
        other = race.parse_config(f"a={TINY['sngan']}")
        with self.assertRaisesRegex(race.RaceError, "config 'a' was started with"):
            race.load_state(race_dir, 60.0, 10, [other])
        # A new contestant joins the same race.
        b = race.parse_config(f"b={TINY['sngan']}")
        self.assertEqual(sorted(race.load_state(race_dir, 60.0, 10, [a, b])["configs"]),
                         ["a", "b"])
        with self.assertRaisesRegex(race.RaceError, "iterations = None, not 100: rerun with "
                                    "no --iterations"):
            race.load_state(race_dir, 60.0, 10, [a], iterations=100)
        # A race at equal iterations keeps its count.
        sweep_dir = self.get_temp_dir() + "/sweep"
        os.makedirs(sweep_dir)
        race.save_state(sweep_dir, race.load_state(sweep_dir, None, 10, [a], iterations=100))
        self.assertEqual(race.load_state(sweep_dir, None, 10, [a], iterations=100)
                         ["iterations"], 100)
        with self.assertRaisesRegex(race.RaceError, "iterations = 100, not 50: rerun with "
                                    "--iterations=100"):
            race.load_state(sweep_dir, None, 10, [a], iterations=50)


@pytest.mark.slow
class RaceToolTest(tf.test.TestCase):

    def test_bad_arguments_fail_fast_with_one_line(self):
        race_dir = os.path.join(self.get_temp_dir(), "bad")
        cases = [
            (["--budget_seconds=0", f"--config=a={TINY['fastgan']}"],
             "--budget_seconds=0 must be > 0"),
            (["--budget_seconds=5", "--config=a"], "--config='a': expected NAME=GIN_FILE"),
            (["--budget_seconds=5", "--config=a=/nope.gin"], "'/nope.gin' does not exist"),
            (["--budget_seconds=5", f"--config=a={TINY['fastgan']}", "--baselines=b"],
             "--baselines=b: b is not a --config name"),
            (["--budget_seconds=5", f"--config=a={TINY['fastgan']}", "--num_evals=0"],
             "--num_evals=0 must be >= 1"),
            (["--budget_seconds=5"], "at least one --config"),
            ([f"--config=a={TINY['fastgan']}"], "exactly one of --budget_seconds"),
            (["--budget_seconds=5", "--iterations=3", f"--config=a={TINY['fastgan']}"],
             "exactly one of --budget_seconds"),
            (["--iterations=0", f"--config=a={TINY['fastgan']}"], "--iterations=0 must be >= 1"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                proc = subprocess.run(
                    [sys.executable, os.path.join(ROOT, "tools", "race.py"),
                     f"--race_dir={race_dir}"] + args, env=_env(), capture_output=True,
                    text=True, timeout=120, check=False)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                lines = proc.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, proc.stderr)
                self.assertIn(message, lines[0])
        self.assertFalse(os.path.exists(os.path.join(race_dir, race.STATE_FILE)))

    def test_timing_only_records_speeds_and_trains_nothing(self):
        race_dir = os.path.join(self.get_temp_dir(), "timing_only")
        proc = subprocess.run(_race_cmd(race_dir, 8, [f"fast={TINY['fastgan']}"],
                                        ["--timing_only"]),
                              env=_env(), capture_output=True, text=True, timeout=300,
                              check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        c = _state(race_dir)["configs"]["fast"]
        self.assertEqual(c["status"], "pending")
        self.assertEqual(len(c["rounds"]), 2)  # --timing_rounds=2
        self.assertEqual(c["iterations"], race.iterations_for(8, c["s_per_it"]))
        self.assertIn(f"race: fast: {c['s_per_it']:.3f} s/it, {c['iterations']} iterations",
                      proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(race_dir, "fast")))

    def test_equal_iterations_with_per_config_bindings(self):
        """A sweep: --iterations instead of a budget, one binding per config, both reaching
        the timing and the training command."""
        race_dir = os.path.join(self.get_temp_dir(), "sweep")
        cmd = [sys.executable, os.path.join(ROOT, "tools", "race.py"), f"--race_dir={race_dir}",
               "--iterations=7", "--num_evals=2", "--timing_rounds=1", "--timing_iterations=1",
               "--timing_warmup=0", "--timing_only",
               f"--config=a={TINY['fastgan']}+FastGANLoss.alpha_gc=0.0",
               f"--config=b={TINY['fastgan']}+FastGANLoss.alpha_gc=0.5"]
        proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300,
                              check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        state = _state(race_dir)
        self.assertEqual(state["iterations"], 7)
        for name, alpha in (("a", "0.0"), ("b", "0.5")):
            c = state["configs"][name]
            self.assertEqual((c["iterations"], c["eval_every"]), (7, 3))
            self.assertEqual(c["gin_params"], [f"FastGANLoss.alpha_gc={alpha}"])
            train = race.train_command(c, "/m", c["iterations"], c["eval_every"])
            self.assertIn(f"--gin_param=FastGANLoss.alpha_gc={alpha}", train)
            self.assertIn("--gin_param=run.train_steps = 7", train)

    def test_race_with_a_failing_config_killed_and_continued(self):
        race_dir = os.path.join(self.get_temp_dir(), "race")
        configs = [f"fast={TINY['fastgan']}", f"sn={TINY['sngan']}",
                   f"badclf={TINY['bad_classifier']}", f"baddata={TINY['bad_data']}"]
        cmd = _race_cmd(race_dir, 8, configs, ["--num_evals=4", "--baselines=sn"])
        log_path = os.path.join(self.get_temp_dir(), "race.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            ckpt = os.path.join(race_dir, "fast", "checkpoints", "checkpoint")
            deadline = time.time() + 300
            while time.time() < deadline and proc.poll() is None and not os.path.exists(ckpt):
                time.sleep(0.2)
            self.assertIsNone(proc.poll(), open(log_path, encoding="utf-8").read()[-3000:])
            self.assertTrue(os.path.exists(ckpt), "no checkpoint of 'fast' within 300 s")
            os.killpg(proc.pid, signal.SIGKILL)  # the race and its training process
            proc.wait(60)
        state = _state(race_dir)
        timed = {n: c["s_per_it"] for n, c in state["configs"].items() if "s_per_it" in c}
        self.assertEqual(sorted(timed), ["badclf", "fast", "sn"])
        self.assertEqual(state["configs"]["fast"]["status"], "running")
        self.assertIn("DataError", state["configs"]["baddata"]["error"])
        killed_at = race.final_step(os.path.join(race_dir, "fast"))
        iterations = state["configs"]["fast"]["iterations"]
        self.assertGreater(killed_at, 0)
        self.assertLess(killed_at, iterations)

        proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600,
                              check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr[-3000:])  # two configs failed
        self.assertIn("race: failed: badclf, baddata", proc.stderr)
        state = _state(race_dir)
        for name, s_per_it in timed.items():  # the timing was kept, not redone
            self.assertEqual(state["configs"][name]["s_per_it"], s_per_it)
        for name in ("fast", "sn"):
            c = state["configs"][name]
            self.assertEqual(c["status"], "done")
            self.assertEqual(c["iterations"], race.iterations_for(8, c["s_per_it"]))
            self.assertEqual(race.final_step(os.path.join(race_dir, name)), c["iterations"])
        with open(os.path.join(race_dir, "fast", race.LOG_FILE), encoding="utf-8") as f:
            self.assertIn(f"Resumed from {os.path.join(race_dir, 'fast', 'checkpoints')}",
                          f.read())
        self.assertEqual(state["configs"]["badclf"]["status"], "failed")
        self.assertIn("no SavedModel in '/nonexistent/classifier'",
                      state["configs"]["badclf"]["error"])

        rows = _read_csv(os.path.join(race_dir, race.CSV_FILE))
        for name in ("fast", "sn"):
            c = state["configs"][name]
            steps = [int(r["step"]) for r in rows if r["config"] == name]
            every = race.eval_every_for(c["iterations"], 4)
            expected = list(range(every, c["iterations"] + 1, every))
            if expected[-1] != c["iterations"]:
                expected.append(c["iterations"])
            self.assertEqual(steps, expected)
            for r in rows:
                if r["config"] == name:
                    self.assertAlmostEqual(float(r["equivalent_seconds"]),
                                           int(r["step"]) * c["s_per_it"])
        self.assertFalse([r for r in rows if r["config"] in ("badclf", "baddata")])
        with open(os.path.join(race_dir, race.TABLE_FILE), encoding="utf-8") as f:
            table = f.read()
        self.assertIn("(sn's final)", table)
        self.assertRegex(table, r"\| badclf \| [0-9.]+ \| – .*no SavedModel")
        self.assertTrue(os.path.getsize(os.path.join(race_dir, race.PLOT_FILE)) > 1000)
        self.assertIn(table.strip(), proc.stdout)

        # A third run has nothing left to train and only reports.
        again = subprocess.run(cmd + ["--report_only"], env=_env(), capture_output=True,
                               text=True, timeout=300, check=False)
        self.assertEqual(again.returncode, 1)
        self.assertIn(table.strip(), again.stdout)


if __name__ == "__main__":
    tf.test.main()
