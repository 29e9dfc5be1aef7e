"""tools/race.py end to end on tiny configs: tuned, two seeds, a failing config, killed mid-race
and continued; bad arguments (tests/unit/test_race.py checks the race's arithmetic, tables and
protocol through its runner seam)."""

import os
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from tests.support import ROOT
from tests.support.runs import RACE_TINY, race_state
from tfgan_fast.run import budget
from tfgan_fast.perf import race

TIMING = ["--timing_rounds=2", "--timing_iterations=2", "--timing_warmup=1"]


def _env():
    path = os.pathsep.join([ROOT] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH")
                                     else []))
    return dict(os.environ, PYTHONPATH=path, TF_CPP_MIN_LOG_LEVEL="2")


def _race_cmd(race_dir, budget, configs, extra=()):
    return ([sys.executable, os.path.join(ROOT, "tools", "race.py"), f"--race_dir={race_dir}",
             f"--budget_seconds={budget}"] + [f"--config={c}" for c in configs] + TIMING
            + list(extra))


@pytest.mark.slow
class RaceToolTest(tf.test.TestCase):

    def test_bad_arguments_fail_fast_with_one_line(self):
        race_dir = os.path.join(self.get_temp_dir(), "bad")
        cases = [
            (["--budget_seconds=0", f"--config=a={RACE_TINY['fastgan']}"],
             "--budget_seconds=0 must be > 0"),
            (["--budget_seconds=5", "--config=a"], "--config='a': expected NAME=GIN_FILE"),
            (["--budget_seconds=5", "--config=a=/nope.gin"], "'/nope.gin' does not exist"),
            (["--budget_seconds=5", f"--config=a={RACE_TINY['fastgan']}", "--baselines=b"],
             "--baselines=b: b is not a --config name"),
            (["--budget_seconds=5", f"--config=a={RACE_TINY['fastgan']}", "--num_evals=0"],
             "--num_evals=0 must be >= 1"),
            (["--budget_seconds=5"], "at least one --config"),
            ([f"--config=a={RACE_TINY['fastgan']}"], "exactly one of --budget_seconds"),
            (["--budget_seconds=5", "--iterations=3", f"--config=a={RACE_TINY['fastgan']}"],
             "exactly one of --budget_seconds"),
            (["--iterations=0", f"--config=a={RACE_TINY['fastgan']}"],
             "--iterations=0 must be >= 1"),
            (["--budget_seconds=5", f"--config=a={RACE_TINY['fastgan']}", "--tune_lrs=1e-3"],
             "--tune_lrs needs --tune_budget_seconds > 0"),
            (["--budget_seconds=5", f"--config=a={RACE_TINY['fastgan']}", "--tune_lrs=fast",
              "--tune_budget_seconds=1"], "--tune_lrs: 'fast' is not a positive number"),
            (["--budget_seconds=5", f"--config=a={RACE_TINY['fastgan']}", "--tune_lrs=1e-3",
              "--tune_budget_seconds=1", "--tune_schedules=cosine"],
             "unknown schedule 'cosine'"),
            (["--budget_seconds=5", f"--config=a={RACE_TINY['fastgan']}", "--seeds=0"],
             "--seeds=0 must be >= 1"),
            (["--budget_seconds=5", f"--config=a={RACE_TINY['fastgan']}", "--tune_lrs=1e-3",
              "--tune_budget_seconds=1", "--tune_num_evals=2"],
             "--tune_num_evals=2 must be >= --last=3"),
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
        proc = subprocess.run(_race_cmd(race_dir, 8, [f"fast={RACE_TINY['fastgan']}"],
                                        ["--timing_only"]),
                              env=_env(), capture_output=True, text=True, timeout=300,
                              check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        c = race_state(race_dir)["configs"]["fast"]
        self.assertEqual(c["runs"], {})
        self.assertEqual(len(c["rounds"]), 2)  # --timing_rounds=2
        self.assertEqual(c["configured_steps"], 10)  # race_tiny_common's TRAIN_STEPS
        self.assertIn(f"race: fast: {c['s_per_it']:.3f} s/it, "
                      f"{race.iterations_for(8, c['s_per_it'])} iterations", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(race_dir, "fast")))

    def test_a_tuned_seeded_race_with_a_failing_config_killed_and_continued(self):
        race_dir = os.path.join(self.get_temp_dir(), "race")
        configs = [f"fast={RACE_TINY['fastgan']}", f"baddata={RACE_TINY['bad_data']}"]
        cmd = _race_cmd(race_dir, 4, configs, [
            "--num_evals=2", "--seeds=2", "--tune_lrs=1e-4,1e-3", "--tune_budget_seconds=1",
            "--last=2", "--baselines=fast"])
        log_path = os.path.join(self.get_temp_dir(), "race.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            ckpt = os.path.join(race_dir, "fast", "seed_0", "checkpoints", "checkpoint")
            deadline = time.time() + 400
            while time.time() < deadline and proc.poll() is None and not os.path.exists(ckpt):
                time.sleep(0.2)
            self.assertIsNone(proc.poll(), open(log_path, encoding="utf-8").read()[-3000:])
            self.assertTrue(os.path.exists(ckpt), "no checkpoint of fast's seed 0 in 400 s")
            os.killpg(proc.pid, signal.SIGKILL)  # the race and its training process
            proc.wait(60)
        state = race_state(race_dir)
        fast = state["configs"]["fast"]
        self.assertIn(fast["chosen"], ("own_lr0.0001", "own_lr0.001"))
        scores = {k: p["score"] for k, p in fast["grid"].items()}
        self.assertEqual(fast["chosen"], min(scores, key=scores.get))
        self.assertEqual(fast["runs"]["0"]["status"], "running")
        self.assertIn("DataError", state["configs"]["baddata"]["error"])
        killed_at = race.final_step(os.path.join(race_dir, "fast", "seed_0"))
        record = budget.read_record(os.path.join(race_dir, "fast", "seed_0"))
        self.assertEqual(record["train_steps"], race.iterations_for(4, fast["s_per_it"]))
        self.assertLess(killed_at, record["train_steps"])

        proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=900,
                              check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr[-3000:])  # baddata failed
        self.assertIn("race: failed: baddata (DataError", proc.stderr)
        state = race_state(race_dir)
        fast = state["configs"]["fast"]
        self.assertEqual(fast["s_per_it"], race_state(race_dir)["configs"]["fast"]["s_per_it"])
        curves = {}
        for seed in ("0", "1"):
            run_dir = os.path.join(race_dir, "fast", f"seed_{seed}")
            self.assertEqual(fast["runs"][seed]["status"], "done")
            self.assertEqual(race.final_step(run_dir), record["train_steps"])
            self.assertEqual(budget.read_record(run_dir)["train_steps"], record["train_steps"])
            self.assertLen(tf.io.gfile.glob(os.path.join(run_dir, race.HPARAMS_DIR, "*")), 1)
            curves[seed] = [r["fid"] for r in race.metrics(run_dir)]
        with open(os.path.join(race_dir, "fast", "seed_0", race.LOG_FILE),
                  encoding="utf-8") as f:
            self.assertIn("Resumed from", f.read())
        self.assertNotEqual(curves["0"], curves["1"])  # another initialisation and data order
        with open(os.path.join(race_dir, race.TABLE_FILE), encoding="utf-8") as f:
            table = f.read()
        self.assertRegex(table, r"\| fast \| own_lr0\.00?01 \| [0-9.]+ \| \d+ \| .* \| 2/2 \| ")
        self.assertRegex(table, r"\| baddata \| – \| – \|.*DataError")
        self.assertIn(table.strip(), proc.stdout)
        with open(os.path.join(race_dir, race.TUNING_TABLE_FILE), encoding="utf-8") as f:
            self.assertIn("(chosen)", f.read())
        self.assertGreater(os.path.getsize(os.path.join(race_dir, race.PLOT_FILE)), 1000)


if __name__ == "__main__":
    tf.test.main()
