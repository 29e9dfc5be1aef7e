"""The supervisor of `python -m tfgan_fast.train`: signals forwarded, a blocked child killed.

Children here are small Python programs, not training runs (tests/integration/test_multiworker.py
stops a real run blocked inside TensorFlow): one that stops on SIGTERM as a run does, one that ignores
it as a run blocked in TensorFlow does, and one that exits with its own status.
"""

import io
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.support import ROOT
from tfgan_fast.run import supervisor

STOPS = ("import signal, sys, time\n"
         "signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))\n"
         "print('ready', flush=True)\n"
         "time.sleep(60)\n")
BLOCKED = ("import signal, time\n"
           "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
           "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
           "print('ready', flush=True)\n"
           "time.sleep(60)\n")


def _signal_later(signum, delay, times=1):
    def send():
        time.sleep(delay)
        for _ in range(times):
            os.kill(os.getpid(), signum)
            time.sleep(0.3)
    threading.Thread(target=send, daemon=True).start()


def test_exit_status_and_environment_are_passed_through():
    code = supervisor.run_supervised(
        [sys.executable, "-c",
         f"import os, sys; sys.exit(3 if os.environ['{supervisor.ENV}'] == '1' else 4)"])
    assert code == 3


def test_a_child_that_stops_on_the_signal_keeps_its_status():
    log = io.StringIO()
    _signal_later(signal.SIGTERM, 1.0)
    start = time.monotonic()
    code = supervisor.run_supervised([sys.executable, "-c", STOPS], grace_seconds=30, log=log)
    assert code == 128 + signal.SIGTERM
    assert time.monotonic() - start < 10
    assert log.getvalue() == ""


def test_a_blocked_child_is_killed_after_the_grace_period():
    log = io.StringIO()
    _signal_later(signal.SIGTERM, 1.0)
    start = time.monotonic()
    code = supervisor.run_supervised([sys.executable, "-c", BLOCKED], grace_seconds=2, log=log)
    waited = time.monotonic() - start
    assert code == 128 + signal.SIGTERM
    assert 2.5 < waited < 20
    assert "Stopped by SIGTERM: the run did not stop within 2 s" in log.getvalue()
    assert "The newest complete checkpoint is intact" in log.getvalue()


def test_a_second_ctrl_c_allows_three_seconds():
    log = io.StringIO()
    _signal_later(signal.SIGINT, 1.0, times=2)
    start = time.monotonic()
    code = supervisor.run_supervised([sys.executable, "-c", BLOCKED], grace_seconds=300,
                                     log=log)
    assert code == 128 + signal.SIGINT
    assert time.monotonic() - start < 30
    assert "Stopped by SIGINT" in log.getvalue()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_the_child_dies_with_a_killed_supervisor():
    program = ("import sys; from tfgan_fast.run import supervisor\n"
               "supervisor.run_supervised([sys.executable, '-c', "
               "'import os, time; print(os.getpid(), flush=True); time.sleep(60)'])\n")
    parent = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    child_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    for _ in range(100):
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child_pid, signal.SIGKILL)
        raise AssertionError("the child outlived its supervisor")
