r"""Time-to-quality race: train several gin configs for the same time budget, plot FID vs time.

  python tools/race.py --race_dir=runs/race --budget_seconds=1800 \
      --config=fastgan=gin/fmnist/fastgan.gin --config=sngan=gin/fmnist/sngan.gin \
      --config=sngan_ac=gin/fmnist/sngan_ac.gin --config=robgan=gin/fmnist/robgan.gin \
      --baselines=sngan,sngan_ac,robgan

1. Times every config's training step in this process, in `--timing_rounds` interleaved rounds
   (seconds per iteration, s/it; run it on a quiet machine).
2. Trains each config for budget / (s/it) iterations in `RACE_DIR/<name>/` (an ordinary,
   resumable `python -m tfgan_fast.train` run; its log is `RACE_DIR/<name>/train.log`),
   evaluating at `--num_evals` evenly spaced iterations.
3. Writes `RACE_DIR/race.csv` (every evaluation, with equivalent wall-clock = iterations x s/it),
   `race.png` (FID against equivalent wall-clock) and `race.md` (final FID, IS, class accuracy,
   and the time each config took to reach the best baseline's final FID).

Rerun the same command to continue a stopped race: the timing is kept, finished configs are
skipped, an interrupted one resumes from its newest checkpoint, a failed one is retried.
`--report_only` rewrites the results from what is there without training; `--timing_only`
times the configs and stops (time several races on a quiet machine, then train them while the
machine does other work: equivalent wall-clock stays valid).

A sweep over one hyper-parameter at equal iterations (the README's alpha_gc sweep) gives each
config its own bindings after its gin files and `--iterations` instead of a budget:

  python tools/race.py --race_dir=runs/sweep --iterations=1200 \
      --config=a0=gin/fmnist/fastgan_short.gin+FastGANLoss.alpha_gc=0.0 \
      --config=a1=gin/fmnist/fastgan_short.gin+FastGANLoss.alpha_gc=1.0

The gin macro `TRAIN_STEPS` is bound to each config's iteration count (see gin/fmnist/common.gin:
`run.train_steps = %TRAIN_STEPS`, `LinearDecay.total_steps = %TRAIN_STEPS`).
"""

import os
import sys

from absl import flags

from tfgan_fast import cli

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
flags.DEFINE_integer("num_evals", 10, "Evenly spaced evaluations per config (>= 1).")
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
    for name in ("num_evals", "timing_rounds", "timing_iterations"):
        if getattr(FLAGS, name) < 1:
            _fail(f"--{name}={getattr(FLAGS, name)} must be >= 1")
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
    from tfgan_fast import race  # pylint: disable=import-outside-toplevel

    try:
        configs = [race.parse_config(spec, FLAGS.gin_param) for spec in FLAGS.config]
        race.check_configs(configs, FLAGS.baselines)
        os.makedirs(FLAGS.race_dir, exist_ok=True)
        state = race.load_state(FLAGS.race_dir, FLAGS.budget_seconds, FLAGS.num_evals,
                                configs, FLAGS.iterations)
    except race.RaceError as e:
        _fail(str(e))
    names = [c.name for c in configs]
    from tfgan_fast import quiet  # pylint: disable=import-outside-toplevel
    quiet.quiet_tensorflow()  # the timing imports TensorFlow
    if not FLAGS.report_only:
        _run(race, state, names)
    table, summaries = race.write_results(FLAGS.race_dir, state, FLAGS.baselines, FLAGS.title)
    print(table)
    print(f"race: wrote {os.path.join(FLAGS.race_dir, race.CSV_FILE)}, "
          f"{os.path.join(FLAGS.race_dir, race.TABLE_FILE)} and "
          f"{os.path.join(FLAGS.race_dir, race.PLOT_FILE)}")
    failed = [s["config"] for s in summaries if s["config"] in names and s["status"] == "failed"]
    if failed:
        print(f"race: failed: {', '.join(failed)} (see RACE_DIR/<name>/train.log); rerun the "
              "same command to retry them", file=sys.stderr)
        return 1
    return 0


def _run(race, state, names):
    race_dir = FLAGS.race_dir
    untimed = [race.RaceConfig(n, state["configs"][n]["gin_files"],
                               state["configs"][n]["gin_params"])
               for n in names if "s_per_it" not in state["configs"][n]]
    if untimed:
        speeds = race.measure_speeds(untimed, FLAGS.timing_rounds, FLAGS.timing_iterations,
                                     FLAGS.timing_warmup,
                                     log=lambda s: print(s, file=sys.stderr, flush=True))
        for name, result in speeds.items():
            c = state["configs"][name]
            if "error" in result:
                c.update(status="failed", error=result["error"])
                continue
            c.update(result)
            c["iterations"] = (FLAGS.iterations if FLAGS.iterations is not None else
                               race.iterations_for(FLAGS.budget_seconds, result["s_per_it"]))
            c["eval_every"] = race.eval_every_for(c["iterations"], FLAGS.num_evals)
            c.pop("error", None)
        race.save_state(race_dir, state)
    if FLAGS.timing_only:
        for name in names:
            c = state["configs"][name]
            speed = (f"{c['s_per_it']:.3f} s/it, {c['iterations']} iterations"
                     if "s_per_it" in c else f"not timed ({c.get('error')})")
            print(f"race: {name}: {speed}", file=sys.stderr)
        return
    for i, name in enumerate(names):
        c = state["configs"][name]
        if "s_per_it" not in c:
            print(f"race: {name}: skipped, it could not be timed ({c.get('error')})",
                  file=sys.stderr)
            continue
        model_dir = os.path.join(race_dir, name)
        done = race.final_step(model_dir)
        if c["status"] == "done" and done >= c["iterations"]:
            continue
        print(f"race: [{i + 1}/{len(names)}] {name}: {c['iterations']} iterations at "
              f"{c['s_per_it']:.3f} s/it (= {c['iterations'] * c['s_per_it']:.0f} s), "
              "evaluated every "
              f"{c['eval_every']}" + (f", resuming at {done}" if done else ""),
              file=sys.stderr, flush=True)
        os.makedirs(model_dir, exist_ok=True)
        c["status"] = "running"
        race.save_state(race_dir, state)
        cmd = race.train_command(c, model_dir, c["iterations"], c["eval_every"])
        code, last = race.run_training(cmd, os.path.join(model_dir, race.LOG_FILE),
                                       _Bar(f"race: {name}", c["iterations"], done))
        if code == 0:
            c["status"] = "done"
            c.pop("error", None)
        else:
            c.update(status="failed", error=f"exit {code}: {last}")
            print(f"race: {name} failed ({c['error']}); the race goes on", file=sys.stderr)
        race.save_state(race_dir, state)
        race.write_results(race_dir, state, FLAGS.baselines, FLAGS.title)


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
