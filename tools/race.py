r"""A fair time-to-quality race: tune every config at equal effort, race it over seeds, plot FID
against equivalent wall-clock (docs/race.md).

  python tools/race.py --race_dir=runs/race --budget_seconds=1800 --seeds=3 \
      --tune_lrs=2e-4,5e-4,1e-3,2e-3 --tune_schedules=constant,halving2 \
      --tune_budget_seconds=300 \
      --config=fastgan=gin/fmnist/fastgan.gin --config=sngan=gin/fmnist/sngan.gin \
      --baselines=sngan

1. Times every config's training step in this process, in `--timing_rounds` interleaved rounds
   (seconds per iteration, s/it; run it on a quiet machine).
2. With `--tune_lrs`: runs every config at every point of the same grid (each learning rate
   under each schedule shape of `--tune_schedules`) for `--tune_budget_seconds` equivalent
   seconds, seed 0, in `RACE_DIR/tuning/<name>/<point>/`, and chooses each config's point with
   the lowest mean FID over its last `--last` evaluations (`tuning.md`, `tuning.csv`,
   `tuning.png`).
3. Trains each config (at its chosen point) for budget / (s/it) iterations once per seed
   (`--seeds`; `run.seed` 0 .. N-1) in `RACE_DIR/<name>/seed_<s>/`, an ordinary resumable
   `python -m tfgan_fast.train` run evaluated at `--num_evals` evenly spaced iterations.
4. Writes `race.csv` (every evaluation, with equivalent wall-clock = iterations x s/it),
   `race.png` (FID against equivalent wall-clock: mean ± sd over seeds), `race.md` (final
   FID, class accuracy, precision and recall as mean ± sd over seeds, a seed's final being the
   mean over its last `--last` evaluations; the time to `--target_fid` or to the best
   baseline's final FID, with its spread and the seeds that never reach it) and TensorBoard
   HParams summaries per run (`tensorboard --logdir RACE_DIR`).

Rerun the same command to continue: the timing, finished runs and made choices are kept, an
interrupted run resumes from its newest checkpoint, a failed one is retried. `--report_only`
rewrites the results from what is there; `--timing_only` times the configs and stops (time
several races on a quiet machine, train them while the machine does other work: equivalent
wall-clock stays valid).

A sweep over one hyper-parameter at equal iterations gives each config its own bindings after
its gin files and `--iterations` instead of a budget:

  python tools/race.py --race_dir=runs/sweep --iterations=1200 \
      --config=a0=gin/fmnist/fastgan_short.gin+FastGANLoss.alpha_gc=0.0 \
      --config=a1=gin/fmnist/fastgan_short.gin+FastGANLoss.alpha_gc=1.0

Each run's length is chosen as `--budget` chooses it (`tfgan_fast.run.budget`): the config's
`run.train_steps`, intervals and schedule horizons are rescaled to the iterations it gets.
"""

import os
import sys

from absl import flags

from tfgan_fast.run import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("race_dir", None, "Directory of the race (one subdirectory per config).")
flags.DEFINE_float("budget_seconds", None, "Equivalent training seconds per config.")
flags.DEFINE_multi_string("config", [], "NAME=GIN_FILE[+GIN_FILE...][+BINDING...]; repeat for "
                          "each config (a piece with '=' is a gin binding of that config).")
flags.DEFINE_integer("iterations", None, "Train every config for this many iterations instead "
                     "of budget / (s/it): a race at equal iterations, e.g. a sweep over one "
                     "hyper-parameter. Replaces --budget_seconds.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings for every config.")
flags.DEFINE_list("baselines", [], "Config names whose best final FID is the target the "
                  "table times every config to.")
flags.DEFINE_integer("num_evals", 10, "Evenly spaced evaluations per run (>= 1).")
flags.DEFINE_integer("seeds", 1, "Race runs per config, with run.seed = 0 .. seeds - 1.")
flags.DEFINE_list("tune_lrs", [], "Learning rates of the tuning grid, the same for every config "
                  "(none: no tuning, configs race as they are).")
flags.DEFINE_list("tune_schedules", ["own"], "Schedule shapes of the tuning grid: own (the "
                  "config's, its rate replaced), constant, linear, halvingH (e.g. halving2).")
flags.DEFINE_float("tune_budget_seconds", None, "Equivalent seconds per tuning run.")
flags.DEFINE_integer("tune_num_evals", 5, "Evenly spaced evaluations per tuning run (>= --last).")
flags.DEFINE_integer("last", 3, "Evaluations averaged into a run's tuning score and its final "
                     "figures.")
flags.DEFINE_float("target_fid", None, "The FID the table times every config to (default: the "
                   "best baseline's final FID).")
flags.DEFINE_integer("timing_rounds", 3, "Interleaved timing rounds.")
flags.DEFINE_integer("timing_iterations", 5, "Timed iterations per config and round.")
flags.DEFINE_integer("timing_warmup", 2, "Untimed iterations per config before timing.")
flags.DEFINE_string("title", None, "Title of race.png.")
flags.DEFINE_bool("report_only", False, "Only rewrite race.csv / race.md / race.png.")
flags.DEFINE_bool("timing_only", False, "Time the configs not yet timed, record their speeds "
                  "and stop: time several races on a quiet machine first, train them later.")
flags.mark_flags_as_required(["race_dir"])


def _fail(message):
    """One line on stderr, exit status 1: bad arguments never start any work."""
    raise SystemExit(f"race: error: {message}")


def _check_flags():
    if (FLAGS.budget_seconds is None) == (FLAGS.iterations is None):
        _fail("give exactly one of --budget_seconds (equal time) and --iterations (equal "
              "iterations)")
    if FLAGS.iterations is not None and FLAGS.iterations < 1:
        _fail(f"--iterations={FLAGS.iterations} must be >= 1")
    if FLAGS.budget_seconds is not None and FLAGS.budget_seconds <= 0:
        _fail(f"--budget_seconds={FLAGS.budget_seconds:g} must be > 0")
    if FLAGS.tune_lrs and (FLAGS.tune_budget_seconds is None or FLAGS.tune_budget_seconds <= 0):
        _fail("--tune_lrs needs --tune_budget_seconds > 0 (the short budget of each point)")
    for lr in FLAGS.tune_lrs:
        try:
            ok = float(lr) > 0
        except ValueError:
            ok = False
        if not ok:
            _fail(f"--tune_lrs: {lr!r} is not a positive number")
    for name in ("num_evals", "tune_num_evals", "timing_rounds", "timing_iterations", "seeds",
                 "last"):
        if getattr(FLAGS, name) < 1:
            _fail(f"--{name}={getattr(FLAGS, name)} must be >= 1")
    if FLAGS.tune_lrs and FLAGS.tune_num_evals < FLAGS.last:
        _fail(f"--tune_num_evals={FLAGS.tune_num_evals} must be >= --last={FLAGS.last} (a "
              "score averages the last --last evaluations)")
    if FLAGS.timing_warmup < 0:
        _fail(f"--timing_warmup={FLAGS.timing_warmup} must be >= 0")


class _Bar:
    """The race's own progress line on stderr (redrawn on a terminal, every 10% otherwise)."""

    def __init__(self, label, total, done_before=0):
        import time  # pylint: disable=import-outside-toplevel
        self.time = time
        self.label, self.total, self.start = label, total, done_before
        self.t0 = time.time()
        self.tty = sys.stderr.isatty()
        self._decile = -1

    def __call__(self, step, total):
        frac = step / max(total, 1)
        if not self.tty and int(frac * 10) == self._decile and step < total:
            return
        self._decile = int(frac * 10)
        elapsed = self.time.time() - self.t0
        rate = (step - self.start) / elapsed if elapsed > 0 and step > self.start else 0.0
        eta = f"{(total - step) / rate / 60:.1f} min" if rate > 0 else "?"
        bar = "=" * int(24 * frac) + "." * (24 - int(24 * frac))
        line = f"{self.label} [{bar}] {step}/{total} it, {rate:.2f} it/s, ETA {eta}"
        sys.stderr.write(("\r" + line + ("\n" if step >= total else "")) if self.tty
                         else line + "\n")
        sys.stderr.flush()


def main(argv):
    if len(argv) > 1:
        _fail(f"unexpected arguments: {' '.join(argv[1:])}")
    _check_flags()
    # Imported after the flags are checked, so bad arguments fail in well under a second.
    from tfgan_fast.perf import race  # pylint: disable=import-outside-toplevel

    try:
        configs = [race.parse_config(spec, FLAGS.gin_param) for spec in FLAGS.config]
        race.check_configs(configs, FLAGS.baselines)
        os.makedirs(FLAGS.race_dir, exist_ok=True)
        tuning = None
        if FLAGS.tune_lrs:
            tuning = {"lrs": [float(v) for v in FLAGS.tune_lrs],
                      "schedules": [race.check_schedule(v) for v in FLAGS.tune_schedules],
                      "budget_seconds": FLAGS.tune_budget_seconds,
                      "num_evals": FLAGS.tune_num_evals}
        state = race.load_state(FLAGS.race_dir, FLAGS.budget_seconds, FLAGS.num_evals,
                                configs, FLAGS.iterations, FLAGS.seeds, tuning, FLAGS.last)
    except race.RaceError as e:
        _fail(str(e))
    names = [c.name for c in configs]
    from tfgan_fast.runtime import quiet  # pylint: disable=import-outside-toplevel
    quiet.quiet_tensorflow()  # the timing imports TensorFlow
    if not FLAGS.report_only:
        _run(race, state, names)
    table, tuning, _ = race.write_results(FLAGS.race_dir, state, FLAGS.baselines, FLAGS.title,
                                          FLAGS.target_fid)
    if tuning:
        print(tuning)
    print(table)
    print(f"race: wrote {os.path.join(FLAGS.race_dir, race.CSV_FILE)}, "
          f"{os.path.join(FLAGS.race_dir, race.TABLE_FILE)} and "
          f"{os.path.join(FLAGS.race_dir, race.PLOT_FILE)}"
          + (f"; tuning in {os.path.join(FLAGS.race_dir, race.TUNING_TABLE_FILE)}"
             if tuning else ""))
    failed = race.failures(state, names)
    if failed:
        print("race: failed: " + "; ".join(f"{label} ({error})" for label, error in failed)
              + " (logs: <run dir>/train.log); rerun the same command to retry them",
              file=sys.stderr)
        return 1
    return 0


def _run(race, state, names):
    race_dir = FLAGS.race_dir
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    untimed = [race.RaceConfig(n, state["configs"][n]["gin_files"],
                               state["configs"][n]["gin_params"])
               for n in names if "s_per_it" not in state["configs"][n]]
    if untimed:
        speeds = race.measure_speeds(untimed, FLAGS.timing_rounds, FLAGS.timing_iterations,
                                     FLAGS.timing_warmup, log=log)
        for name, result in speeds.items():
            c = state["configs"][name]
            c.pop("error", None)
            c.update(result)
        race.save_state(race_dir, state)
    if FLAGS.timing_only:
        for name in names:
            c = state["configs"][name]
            if "s_per_it" not in c:
                log(f"race: {name}: not timed ({c.get('error')})")
                continue
            iterations = (FLAGS.iterations if FLAGS.iterations is not None else
                          race.iterations_for(FLAGS.budget_seconds, c["s_per_it"]))
            log(f"race: {name}: {c['s_per_it']:.3f} s/it, {iterations} iterations")
        return
    for name in names:
        if "s_per_it" not in state["configs"][name]:
            log(f"race: {name}: skipped, it could not be timed "
                f"({state['configs'][name].get('error')})")
    race.execute(race_dir, state, names, log=log,
                 progress=lambda job: _Bar(f"race: {job.config} {job.key}", job.iterations,
                                           race.final_step(job.model_dir)))
    race.write_results(race_dir, state, FLAGS.baselines, FLAGS.title, FLAGS.target_fid)


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
