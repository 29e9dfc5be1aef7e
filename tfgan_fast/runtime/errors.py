"""Errors raised on purpose: the message says what is wrong and what to do about it.

`python -m tfgan_fast.train` prints a `RunError` (or a `ValueError`, which is how bad gin values
are reported) as one line with a non-zero exit status and no traceback; `--traceback` shows it.
Each error keeps a builtin base as well (`ValueError`, `RuntimeError`, `OSError`) so that callers
catching those keep working.
"""


class RunError(Exception):
    """Base of every error that names its cause and its remedy (never a bug of ours)."""


class RunDirectoryLocked(RunError, RuntimeError):
    """Another run trains in the same model_dir; the message names it (host, pid, start)."""


class CheckpointWriteError(RunError, OSError):
    """A checkpoint could not be written (full disk, permissions); names the intact one."""


class IncompatibleCheckpointError(RunError, ValueError):
    """The checkpoint does not fit the networks this config builds; names the first variable."""


class ConfigChangeError(RunError, ValueError):
    """A resumed run changes what its checkpoint is of (data, network, algorithm)."""


class WorkerLostError(RunError, RuntimeError):
    """Another worker of a multi-worker run died, hung or stopped; every worker must restart."""


def one_line(error):
    """The message of `error` without the lines gin appends ("In call to configurable ...")."""
    lines = [line for line in str(error).splitlines()
             if line.strip() and not line.strip().startswith("In call to configurable")]
    return " ".join(line.strip() for line in lines) or type(error).__name__
