"""Quiet logs by default: TensorFlow's C++ and INFO chatter off unless asked for.

Call `quiet_tensorflow()` before TensorFlow is imported (the C++ log level is read once, at
import) and `quiet_python_logs()` once absl has parsed the flags. Both leave everything on when
the user set `TF_CPP_MIN_LOG_LEVEL` themselves or passed absl's `--verbosity` (`-v`): then they
see what TensorFlow prints.
"""

import logging
import os
import re
import sys
import tempfile

# What `import tensorflow` prints on every CPU machine before its log level applies (absl's
# pre-initialisation messages ignore TF_CPP_MIN_LOG_LEVEL).
_IMPORT_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations are on|"
    r"Could not find cuda drivers|failed call to cuInit|cpu_feature_guard|"
    r"To enable the following instructions|rebuild TensorFlow with the appropriate compiler")


def verbose_requested(argv=None):
    """Whether the command line asks for absl's logs (`--verbosity=N`, `-v N`)."""
    argv = sys.argv if argv is None else argv
    return any(a.startswith(("--verbosity", "-v")) and not a.startswith("--v=") or a == "--v"
               for a in argv[1:])


def quiet_tensorflow(argv=None):
    """Sets `TF_CPP_MIN_LOG_LEVEL=3` (C++ errors, warnings and info off) unless the user set it
    or asked for verbosity, and imports TensorFlow with its start-up banner filtered out; the
    errors we raise ourselves still print."""
    if verbose_requested(argv) or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    # The banner is written by C++ to file descriptor 2: catch it in a file during the import,
    # then pass on whatever else was written.
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode("utf-8", "replace").splitlines(keepends=True):
                if not _IMPORT_NOISE.search(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


def quiet_python_logs(argv=None):
    """absl INFO lines (the checkpoint saver's, the export's) and TensorFlow's deprecation
    warnings off unless verbosity was asked for."""
    if verbose_requested(argv):
        return
    from absl import logging as absl_logging  # pylint: disable=import-outside-toplevel
    absl_logging.set_verbosity(absl_logging.WARNING)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
