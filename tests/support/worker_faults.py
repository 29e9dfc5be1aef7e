"""Faults injected into real training processes by the multi-worker tests (through gin).

`tests/gin/worker_faults.gin` imports this module; with `run.callbacks = [@kill_worker_at]`
the worker whose `TF_CONFIG` task index is `task_index` SIGKILLs itself at the end of the first
execution that reaches `iteration`, the way a machine that dies does (no handler runs).
`@stall_worker_at` makes it sleep there instead: alive, sending
heartbeats, but never reaching the next all-reduce.
"""

import json
import os
import signal
import time

import gin
import keras


class _FaultAt(keras.callbacks.Callback):

    def __init__(self, iteration, task_index, stall_seconds=None):
        super().__init__()
        self.iteration, self.task_index = iteration, task_index
        self.stall_seconds = stall_seconds
        self.done = False

    def on_train_batch_end(self, batch, logs=None):
        task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {})
        step = int(self.model.iteration.numpy())
        if self.done or task.get("index") != self.task_index or step < self.iteration:
            return
        self.done = True
        if self.stall_seconds is None:
            print(f"worker_faults: SIGKILL at iteration {step}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        print(f"worker_faults: stalling {self.stall_seconds} s at iteration {step}", flush=True)
        time.sleep(self.stall_seconds)


@gin.configurable
def kill_worker_at(experiment, iteration=gin.REQUIRED, task_index=1):
    """A `run.callbacks` factory: see the module docstring."""
    del experiment
    return _FaultAt(iteration, task_index)


@gin.configurable
def stall_worker_at(experiment, iteration=gin.REQUIRED, task_index=1, seconds=120):
    """A `run.callbacks` factory: see the module docstring."""
    del experiment
    return _FaultAt(iteration, task_index, stall_seconds=seconds)
