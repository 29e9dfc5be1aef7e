"""Ctrl-C and SIGTERM stop a training run even while it is blocked inside TensorFlow.

A run stops on a signal at the end of its iteration, with a checkpoint (`callbacks.StopRequest`).
That needs Python to run the signal's handler, which happens only between two bytecodes of the
main thread. A main thread blocked inside TensorFlow never gets there: a strategy waiting for a
worker that never comes, or a collective waiting for one that is gone, holds the interpreter
(other Python threads stop too), and TensorFlow's multi-worker runtime installs a SIGTERM
handler of its own. Such a process ignores Ctrl-C and SIGTERM; only SIGKILL ends it.

So `python -m tfgan_fast.train` is two processes. This small one (no TensorFlow) starts the
training as its child, in a process group of its own, and forwards every SIGINT / SIGTERM it
receives to it. A child that has not exited `grace_seconds` after the first signal (3 s after a
second one) is blocked: it gets SIGKILL and one line says so. Checkpoints are written to
temporary files and renamed, so the newest complete checkpoint is intact and the same command
resumes from it. If this process is killed, the child is killed with it (Linux).
"""

import ctypes
import os
import signal
import subprocess
import sys
import time

# Set in the child's environment: it is the training process, not another supervisor.
ENV = "TFGAN_FAST_SUPERVISED"
GRACE_SECONDS = 60.0
SECOND_SIGNAL_GRACE_SECONDS = 3.0
_PR_SET_PDEATHSIG = 1


def supervised():
    """True in the training process started by `run_supervised`."""
    return os.environ.get(ENV) == "1"


def _die_with_parent():
    """In the child, before exec: SIGKILL when the supervisor dies (Linux; elsewhere a no-op)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def run_supervised(command, grace_seconds=GRACE_SECONDS, log=None):
    """Runs `command` as the supervised child; returns the exit status to exit with.

    Args:
        command: the argv of the training process.
        grace_seconds: how long the child may take to stop after the first signal.
        log: where the one-line message goes (default stderr).

    Returns:
        The child's exit status; `128 + signal` when it ended by a signal or was killed.
    """
    log = log or sys.stderr
    child = subprocess.Popen(command, env=dict(os.environ, **{ENV: "1"}),
                             start_new_session=True, preexec_fn=_die_with_parent)
    state = {"count": 0, "deadline": None, "signum": None, "since": None}

    def forward(signum, frame):
        del frame
        state["count"] += 1
        now = time.monotonic()
        grace = grace_seconds if state["count"] == 1 else SECOND_SIGNAL_GRACE_SECONDS
        state["deadline"] = min(state["deadline"] or now + grace, now + grace)
        state["signum"] = signum
        state["since"] = state["since"] or now
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                code = child.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if state["deadline"] is not None and time.monotonic() > state["deadline"]:
                name = signal.Signals(state["signum"]).name
                waited = time.monotonic() - state["since"]
                child.kill()
                child.wait()
                print(f"\nStopped by {name}: the run did not stop within {waited:.0f} s, so it "
                      "was blocked inside TensorFlow (e.g. waiting for a worker that is gone) "
                      "and has been killed. The newest complete checkpoint is intact: rerun "
                      "the same command to resume.", file=log, flush=True)
                return 128 + state["signum"]
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 128 - code if code < 0 else code
