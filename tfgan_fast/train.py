r"""Train a GAN: `python -m tfgan_fast.train --gin_file=gin/quickstart.gin --model_dir=DIR`.

`--gin_file` repeats (later files override earlier ones), `--gin_param` adds bindings
(`--gin_param='run.train_steps=100'`). Rerunning the same command resumes from `DIR`.
Errors raised on purpose (bad config, missing data, NaN, a locked directory, a failed
checkpoint write, an incompatible checkpoint) print one line and exit with status 1;
`--traceback` shows the full trace. TensorFlow's C++ and INFO logs are off unless
`TF_CPP_MIN_LOG_LEVEL` is set or absl's `--verbosity` (e.g. `-v 0`) is given.
"""

import difflib
import os
import signal
import sys

from tfgan_fast import quiet

quiet.quiet_tensorflow()  # before anything imports TensorFlow

# pylint: disable=wrong-import-position
from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from tfgan_fast import gin_files as gin_files_lib  # noqa: E402
# pylint: enable=wrong-import-position

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin config file(s); repeat to combine.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings, e.g. 'run.train_steps=100'.")
flags.DEFINE_string("model_dir", None, "Directory for checkpoints, logs, samples and export.")
flags.DEFINE_bool("traceback", False, "On an error, show the full Python traceback instead of "
                  "the one-line message.")
flags.mark_flag_as_required("model_dir")


def _sigterm_to_exit(signum, frame):
    del frame
    raise SystemExit(128 + signum)


def _parse_flags(argv):
    """absl's flag parsing, with a hint for a gin setting passed as a flag."""
    try:
        return FLAGS(argv)
    except flags.Error as e:
        message = f"FATAL Flags parsing error: {e}"
        if isinstance(e, flags.UnrecognizedFlagError):
            name = e.flagname
            close = difflib.get_close_matches(name, list(FLAGS), n=1)
            message += (f". Gin settings are not flags: pass --gin_param='run.{name} = VALUE' "
                        f"(or 'Configurable.{name} = VALUE')"
                        + (f"; or did you mean --{close[0]}?" if close else ""))
        print(message, file=sys.stderr)
        print("Pass --helpshort or --helpfull to see help on flags.", file=sys.stderr)
        sys.exit(1)


def main(argv):
    quiet.quiet_python_logs(argv)
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS.gin_file:
        raise app.UsageError("--gin_file is required (e.g. --gin_file=gin/quickstart.gin)")
    gin_files = [gin_files_lib.resolve_gin_file(path) for path in FLAGS.gin_file]
    for path, found in zip(FLAGS.gin_file, gin_files):
        if found is None:
            raise app.UsageError(f"--gin_file={path}: no such file (nor a shipped config "
                                 f"{os.path.join(gin_files_lib.GIN_DIR, path)})")
    # Imported after the flags are checked so that `--help` and flag errors are instant.
    from tfgan_fast import config  # pylint: disable=import-outside-toplevel
    from tfgan_fast import experiment  # pylint: disable=import-outside-toplevel

    from tfgan_fast import errors  # pylint: disable=import-outside-toplevel

    signal.signal(signal.SIGTERM, _sigterm_to_exit)
    try:
        config.parse(gin_files, FLAGS.gin_param)
        experiment.run(FLAGS.model_dir)
    except KeyboardInterrupt:
        return 130
    except (errors.RunError, ValueError, FileNotFoundError) as e:
        # Errors raised on purpose (bad config or data, NaN, a locked directory, a full disk,
        # an incompatible checkpoint) say what to do: one line, no traceback.
        if FLAGS.traceback:
            raise
        print(f"{type(e).__name__}: {errors.one_line(e)} (--traceback shows where)",
              file=sys.stderr, flush=True)
        return 1
    return 0


def entry_point():
    app.run(main, flags_parser=_parse_flags)


if __name__ == "__main__":
    entry_point()
