r"""Train a GAN: `python -m tfgan_fast.train --gin_file=gin/quickstart.gin --model_dir=DIR`.

`--gin_file` repeats (later files override earlier ones), `--gin_param` adds bindings
(`--gin_param='run.train_steps=100'`). Rerunning the same command resumes from `DIR`.
Ctrl-C or SIGTERM stops after the current iteration with a checkpoint, or at once when the run
is blocked inside TensorFlow (`--stop_grace_seconds`, see `tfgan_fast.run.supervisor`). Errors
raised on purpose (bad config, missing data, NaN, a locked directory, a failed checkpoint write, an
incompatible checkpoint) print one line and exit with status 1;
`--traceback` shows the full trace. TensorFlow's C++ and INFO logs are off unless
`TF_CPP_MIN_LOG_LEVEL` is set or absl's `--verbosity` (e.g. `-v 0`) is given.
"""

import os
import signal
import sys

from absl import app
from absl import flags

from tfgan_fast.run import cli
from tfgan_fast.run import gin_files as gin_files_lib
from tfgan_fast.run import supervisor
from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin config file(s); repeat to combine.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings, e.g. 'run.train_steps=100'.")
flags.DEFINE_string("model_dir", None, "Directory for checkpoints, logs, samples and export.")
flags.mark_flag_as_required("model_dir")
flags.DEFINE_bool("dry_run", False, "Build everything, print a report (config, parameter "
                  "counts, strategy and batches, data, a few timed iterations and the estimated "
                  "time of the run) and exit without writing to --model_dir.")
flags.DEFINE_string("budget", None, "Train for this long (90s, 30m, 1.5h): times the first "
                    "iterations once and rescales the run's length, intervals and schedules to "
                    "fit (run.budget_seconds; docs/race.md). A resumed run keeps its length.")
flags.DEFINE_integer("dry_run_steps", 3, "Timed iterations of --dry_run.")
flags.DEFINE_bool("print_config", False, "With --dry_run: print the whole resolved gin config.")
flags.DEFINE_string("profile_steps", None, "A,B: write a TensorFlow profiler trace of iterations "
                    "A to B into DIR/train (TensorBoard's Profile tab; same as "
                    "--gin_param='run.profile_steps = (A, B)').")
flags.DEFINE_float("stop_grace_seconds", 60.0, "After Ctrl-C or SIGTERM a run stops at the end "
                   "of its iteration; if it is blocked inside TensorFlow this long (e.g. a "
                   "collective waiting for a lost worker), it is killed. A second signal "
                   "allows 3 s.")


def _sigterm_to_exit(signum, frame):
    del frame
    raise SystemExit(128 + signum)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS.gin_file:
        raise app.UsageError("--gin_file is required (e.g. --gin_file=gin/quickstart.gin)")
    gin_params = list(FLAGS.gin_param)
    if FLAGS.budget is not None:
        from tfgan_fast.run import budget  # pylint: disable=import-outside-toplevel
        try:
            gin_params.append(f"run.budget_seconds = {budget.parse_duration(FLAGS.budget)!r}")
        except budget.BudgetError as e:
            raise app.UsageError(str(e)) from e
    if FLAGS.profile_steps is not None:
        gin_params.append(f"run.profile_steps = {FLAGS.profile_steps!r}")
    gin_files = [gin_files_lib.resolve_gin_file(path) for path in FLAGS.gin_file]
    for path, found in zip(FLAGS.gin_file, gin_files):
        if found is None:
            raise app.UsageError(f"--gin_file={path}: no such file (nor a shipped config "
                                 f"{os.path.join(gin_files_lib.GIN_DIR, path)})")
    # Imported after the flags are checked so that `--help` and flag errors are instant.
    quiet.quiet_tensorflow()  # before anything imports TensorFlow
    from tfgan_fast.run import config  # pylint: disable=import-outside-toplevel
    from tfgan_fast.run import experiment  # pylint: disable=import-outside-toplevel

    signal.signal(signal.SIGTERM, _sigterm_to_exit)
    config.parse(gin_files, gin_params)
    if FLAGS.dry_run:
        experiment.dry_run(FLAGS.model_dir, FLAGS.dry_run_steps, FLAGS.print_config)
        return 0
    try:
        experiment.run(FLAGS.model_dir)
    except KeyboardInterrupt:
        return 130
    return 0


def entry_point():
    if not supervisor.supervised():
        # The training runs in a child process that this one watches: a signal reaches it as
        # always (stop after the iteration, with a checkpoint), and a child blocked inside
        # TensorFlow is ended after --stop_grace_seconds (see tfgan_fast.run.supervisor).
        try:
            FLAGS(sys.argv, known_only=True)
            grace = FLAGS.stop_grace_seconds
        except flags.Error:
            grace = supervisor.GRACE_SECONDS  # the child reports the bad flag
        sys.exit(supervisor.run_supervised(
            [sys.executable, "-m", "tfgan_fast.train"] + sys.argv[1:], grace))
    cli.run(main)


if __name__ == "__main__":
    entry_point()
