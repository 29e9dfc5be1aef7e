"""What every command line of the package shares: quiet logs, hints for misplaced gin settings,
and errors raised on purpose printed as one line (`--traceback` for the full trace).

`python -m tfgan_fast.train` and every tool run through `cli.run(main)`.
"""

import difflib
import os
import sys

from absl import app
from absl import flags

from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_bool("traceback", False, "On an error, show the full Python traceback instead of "
                  "the one-line message.")


def parse_flags(argv):
    """absl's flag parsing, with a hint for a gin setting passed as a flag."""
    try:
        return FLAGS(argv)
    except flags.Error as e:
        message = f"FATAL Flags parsing error: {e}"
        if isinstance(e, flags.UnrecognizedFlagError):
            name = e.flagname
            close = difflib.get_close_matches(name, list(FLAGS), n=1)
            # `--run.train_steps=5` names a binding already; `--train_steps=5` a parameter.
            binding = name if "." in name else f"run.{name}"
            message += (f". Gin settings are not flags: pass --gin_param='{binding} = VALUE'"
                        + ("" if "." in name else f" (or 'Configurable.{name} = VALUE')")
                        + (f"; or did you mean --{close[0]}?" if close else ""))
        print(message, file=sys.stderr)
        print("Pass --helpshort or --helpfull to see help on flags.", file=sys.stderr)
        sys.exit(1)


def named_paths(specs, flag="run", name_word="NAME", what="PATH", is_dir=False):
    """`["NAME=PATH", ...]` from a repeated flag -> `[(name, path)]` in order.

    Raises:
        app.UsageError: naming the entry, for a missing `=`, an empty side or a missing path.
    """
    pairs = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise app.UsageError(f"--{flag}={spec!r}: expected {name_word}={what}")
        exists = os.path.isdir(path) if is_dir else os.path.exists(path)
        if not exists:
            raise app.UsageError(f"--{flag}={spec!r}: {path!r} "
                                 f"{'is not a directory' if is_dir else 'does not exist'}")
        pairs.append((name, path))
    if not pairs:
        raise app.UsageError(f"name at least one --{flag}={name_word}={what}")
    return pairs


def one_line_errors(main):
    """`main` with the errors we raise on purpose (bad config or data, NaN, a locked
    directory, a full disk, an incompatible checkpoint, a bad value) as one line on stderr and
    exit status 1."""
    def wrapped(argv):
        from tfgan_fast.runtime import errors  # pylint: disable=import-outside-toplevel
        try:
            return main(argv)
        except (errors.RunError, ValueError, FileNotFoundError) as e:
            if FLAGS.traceback:
                raise
            print(f"{type(e).__name__}: {errors.one_line(e)} (--traceback shows where)",
                  file=sys.stderr, flush=True)
            return 1

    return wrapped


def run(main):
    """`absl.app.run(main)` with quiet logs, flag hints and one-line errors."""
    def with_quiet_logs(argv):
        quiet.quiet_python_logs(argv)
        return main(argv)

    app.run(one_line_errors(with_quiet_logs), flags_parser=parse_flags)
