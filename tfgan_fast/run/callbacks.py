"""Keras callbacks of a training run: NaN guard, checkpoints, TensorBoard, progress.

Order matters and `experiment.run` keeps it: the guard runs first, so a non-finite step never
reaches the checkpoint callback, which itself refuses to save non-finite weights.
"""

import contextlib
import json
import math
import os
import signal
import sys
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from tfgan_fast import algorithms
from tfgan_fast.run import rundir
from tfgan_fast.runtime import errors
from tfgan_fast.runtime import hardware
from tfgan_fast.runtime import textstrip
from tfgan_fast.runtime.errors import RunError


class NonFiniteLossError(RunError, RuntimeError):
    """A loss or the weights became NaN/Inf; the message names the step and the value."""


def _scalar(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _iteration(trainer):
    return int(trainer.iteration.numpy())


class StopRequest(keras.callbacks.Callback):
    """Ctrl-C (SIGINT) and SIGTERM as a request to stop once the current iteration is done.

    The signal handler only records the signal; this callback raises it at the end of the
    iteration, in the training loop's own frame (`KeyboardInterrupt` for SIGINT, `SystemExit(128
    + signum)` otherwise), and `experiment.run` saves that iteration. An exception raised from
    the handler itself lands wherever the interpreter happens to be, a finaliser included, where
    Python prints and drops it: a Ctrl-C that the run never saw, seen under heavy load. A second
    signal before the iteration ends stops at once.
    """

    def __init__(self):
        super().__init__()
        self.signum = None

    def handle(self, signum, frame):
        del frame
        if self.signum is not None:
            self.raise_signal(signum)
        self.signum = signum

    @staticmethod
    def raise_signal(signum):
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def on_train_batch_end(self, batch, logs=None):
        if self.signum is not None:
            self.raise_signal(self.signum)


@contextlib.contextmanager
def stop_on_signals(signals=(signal.SIGINT, signal.SIGTERM)):
    """Installs a `StopRequest`'s handler for `signals` (main thread only: elsewhere Python
    cannot install handlers, and the callback never fires) and yields the callback; the
    previous handlers are back on exit."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {s: signal.signal(s, stop.handle) for s in signals}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite log value, naming the step and the loss."""

    def __init__(self, checkpoint_manager=None):
        super().__init__()
        self.checkpoint_manager = checkpoint_manager

    def on_train_batch_end(self, batch, logs=None):
        # Losses first: they are what the user tunes against, the other logs follow from them.
        names = sorted(logs or {}, key=lambda n: (not n.endswith("loss"), "loss" not in n, n))
        for name in names:
            v = _scalar(logs[name])
            if v is not None and not math.isfinite(v):
                last = (self.checkpoint_manager.latest_checkpoint
                        if self.checkpoint_manager else None)
                raise NonFiniteLossError(
                    f"{name} became {v} at iteration {_iteration(self.model)}; training stopped. "
                    + (f"Last good checkpoint: {last} (rerun the same command to resume from "
                       "it, e.g. with a lower learning rate)." if last else
                       "No checkpoint was written yet: rerun the same command, e.g. with a "
                       "lower learning rate, to start again."))


def weights_are_finite(variables):
    for v in variables:
        if tf.as_dtype(v.dtype).is_floating and not bool(tf.reduce_all(tf.math.is_finite(v))):
            return False
    return True


def save_checkpoint(manager, step):
    """`manager.save(step)`; a failed write removes its temporary files and raises one line.

    Raises:
        errors.CheckpointWriteError: what failed, where, and which checkpoint is intact.
    """
    try:
        return manager.save(checkpoint_number=step)
    except (tf.errors.OpError, OSError) as e:
        rundir.remove_temporary_checkpoint_files(manager.directory, step)
        raise errors.CheckpointWriteError(
            f"could not write checkpoint ckpt-{step} in {manager.directory} "
            f"({errors.one_line(e)[:300]}); the newest intact checkpoint is "
            f"{manager.latest_checkpoint or 'none'}. Free space or fix permissions, then rerun "
            "the same command to resume from it.") from e


class CheckpointCallback(keras.callbacks.Callback):
    """Saves `ckpt-<iteration>` every `every` iterations and at the end of training.

    `tf.train.CheckpointManager` writes the data files first and then replaces the `checkpoint`
    index file atomically, so a kill at any moment leaves the previous checkpoint loadable.
    """

    def __init__(self, manager, every, variables_fn):
        super().__init__()
        self.manager = manager
        self.every = int(every)
        self.variables_fn = variables_fn
        self.last_saved = None

    def save(self):
        """Saves the current state as `ckpt-<iteration>` unless it is saved already."""
        if self.model is None:  # stopped before training began: nothing new to save
            return
        step = _iteration(self.model)
        if step == self.last_saved:
            return
        if not weights_are_finite(self.variables_fn()):
            raise NonFiniteLossError(
                f"weights became non-finite at iteration {step}; not saving. Last good "
                f"checkpoint: {self.manager.latest_checkpoint or 'none yet'}.")
        save_checkpoint(self.manager, step)
        self.last_saved = step

    def on_train_batch_end(self, batch, logs=None):
        if self.every > 0 and _iteration(self.model) % self.every == 0:
            self.save()

    def on_train_end(self, logs=None):
        self.save()


def image_grid(images, rows):
    """Tiles `[rows * cols, H, W, C]` images in [-1, 1] into one `[rows*H, cols*W, C]` uint8."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    cols = n // rows
    grid = images[: rows * cols].reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4)
    grid = grid.reshape(rows * h, cols * w, c)
    return np.clip(np.round((grid + 1.0) * 127.5), 0, 255).astype(np.uint8)


class SampleGrid:
    """The fixed latents of the training sample grid: one row per class (up to `max_rows`
    classes; `max_rows` rows for an unconditional G) of `cols` samples, so that the same cells
    can be compared across iterations; the rows are named by `class_names` where the data set
    has them."""

    def __init__(self, z_dim, num_classes, seed=0, max_rows=10, cols=10, class_names=None):
        self.rows = min(num_classes, max_rows) if num_classes else max_rows
        self.z = tf.random.stateless_normal([self.rows * cols, z_dim], seed=[seed, 7])
        self.labels = (tf.repeat(tf.range(self.rows, dtype=tf.int32), cols)
                       if num_classes else None)
        self.row_names = (list(class_names)[:self.rows] if num_classes and class_names
                          else None)

    def render(self, sample_fn):
        """The grid image (uint8 `[H, W, C]`) of `sample_fn(z, labels)`, with the row names on
        the left; None for vector samples (2-D points have no grid: eval/synthetic.py plots
        them)."""
        samples = sample_fn(self.z, self.labels).numpy()
        if samples.ndim != 4:
            return None
        grid = image_grid(samples, self.rows)
        if self.row_names:
            grid = textstrip.label_rows(grid, self.row_names, samples.shape[1])
        return grid


class StatusLine:
    """The line printed at every summary (iteration, images per second, the last evaluation's
    time, memory), its `speed/` and `memory/` scalars in TensorBoard, and its record, with the
    summary's means, in `metrics.jsonl`."""

    def __init__(self, jsonl_path, images_per_iteration=None, eval_seconds_fn=None,
                 stream=None):
        self.jsonl_path = jsonl_path
        self.images_per_iteration = images_per_iteration
        self.eval_seconds_fn = eval_seconds_fn
        self.stream = stream or sys.stdout
        self._last = None

    def start(self, step, now):
        """A run (re)starts at `step`: the records after it will be written again."""
        self._last = (step, now)
        _trim_jsonl(self.jsonl_path, step)

    def report(self, step):
        """The figures since the last line: printed, to TensorBoard (call inside the writer)
        and returned for `record`."""
        now = time.time()
        last_step, last_time = self._last
        self._last = (step, now)
        status = {"iteration": step, "time": now}
        line = [f"iteration {step}"]
        if self.images_per_iteration and step > last_step and now > last_time:
            rate = (step - last_step) * self.images_per_iteration / (now - last_time)
            status.update(images_per_second=rate, seconds_per_1k_images=1000 / rate)
            line.append(f"{rate:,.0f} images/s ({1000 / rate:.2f} s / 1k images)")
            tf.summary.scalar("speed/images_per_second", rate,
                              description="Real training images consumed per second since the "
                                          "last status line.")
        evaluation = self.eval_seconds_fn() if self.eval_seconds_fn else None
        if evaluation is not None:
            status["last_eval_seconds"] = evaluation
            line.append(f"last evaluation {evaluation:.0f} s")
        for key, label, tag, value, description in (
                ("rss_bytes", "RSS", "memory/rss_gib", process_rss_bytes(),
                 "Resident memory of the training process."),
                ("peak_device_bytes", "peak device memory", "memory/peak_device_gib",
                 peak_device_bytes(), "Peak memory TensorFlow allocated on GPU:0.")):
            if value is not None:
                status[key] = value
                line.append(f"{label} {value / 2 ** 30:.2f} GiB")
                tf.summary.scalar(tag, value / 2 ** 30, description=description)
        text = "status: " + " | ".join(line)
        tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.stream.write(("\r\033[K" if tty else "") + text + "\n")
        self.stream.flush()
        return status

    def record(self, status, means):
        """Appends `status` and the summary's scalar means to `metrics.jsonl`."""
        with open(self.jsonl_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(dict(status, **means)) + "\n")


class SummaryCallback(keras.callbacks.Callback):
    """Every `every` iterations: TensorBoard scalars (means over the iterations since the last
    summary), the sample grid of `grid` (a `SampleGrid`) to TensorBoard and `samples/`, and the
    `status` line (a `StatusLine`, or None for none). At the start, `real_images` (the training
    data as the run sees it) go beside the samples.

    With `run.steps_per_execution = K` the means are over every K-th iteration: an execution of
    K iterations returns its last iteration's logs. Every scalar gets a one-line description in
    TensorBoard (`SCALAR_DESCRIPTIONS`).
    """

    def __init__(self, log_dir, every, sample_fn, grid, status=None, real_images=None):
        super().__init__()
        self.every = int(every)
        self.sample_fn = sample_fn
        self.grid = grid
        self.status = status
        self.real_images = real_images
        self.writer = tf.summary.create_file_writer(log_dir)
        self.sample_dir = os.path.join(os.path.dirname(log_dir), "samples")
        self._sums, self._count = {}, 0
        self._t0 = None

    def on_train_begin(self, logs=None):
        self._t0 = time.time()
        self._step0 = _iteration(self.model)
        if self.status is not None:
            self.status.start(self._step0, self._t0)
        if self.real_images is not None and np.ndim(self.real_images) == 4:
            rows = min(self.grid.rows, len(self.real_images))
            grid = image_grid(self.real_images, rows)
            with self.writer.as_default(step=self._step0):
                tf.summary.image("real_images", grid[None], max_outputs=1,
                                 description="Training images after preprocessing.")
            self.writer.flush()

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            v = _scalar(value)
            if v is not None:
                self._sums[name] = self._sums.get(name, 0.0) + v
        self._count += 1
        step = _iteration(self.model)
        if self.every > 0 and step % self.every == 0:
            self.write(step)

    def write(self, step):
        means = {name: total / max(self._count, 1) for name, total in self._sums.items()}
        with self.writer.as_default(step=step):
            for name, mean in means.items():
                tf.summary.scalar(_tag(name), mean, description=describe(name))
            elapsed = time.time() - self._t0
            if step > self._step0 and elapsed > 0:
                tf.summary.scalar("speed/iterations_per_second", (step - self._step0) / elapsed,
                                  description="Training iterations per second since the run "
                                              "(re)started.")
            status = self.status.report(step) if self.status is not None else None
            grid = self.grid.render(self.sample_fn)
            if grid is not None:
                tf.summary.image("samples", grid[None], max_outputs=1)
        self.writer.flush()
        if status is not None:
            self.status.record(status, means)
        self._sums, self._count = {}, 0
        if grid is not None:
            os.makedirs(self.sample_dir, exist_ok=True)
            tf.io.write_file(os.path.join(self.sample_dir, f"step_{step:08d}.png"),
                             tf.io.encode_png(grid))

    def on_train_end(self, logs=None):
        if self._count:
            self.write(_iteration(self.model))


METRICS_JSONL = "metrics.jsonl"


def _trim_jsonl(path, start_step):
    """Drops the status records a resumed run will write again (after `start_step`)."""
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    kept = []
    for line in lines:
        try:
            if json.loads(line)["iteration"] <= start_step:
                kept.append(line)
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a kill
    if len(kept) != len(lines):
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(kept)


def process_rss_bytes():
    """This process's resident memory (Linux `/proc`; elsewhere the peak from `resource`)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource  # pylint: disable=import-outside-toplevel
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except (ImportError, OSError):
        return None


def peak_device_bytes():
    """Peak memory TensorFlow allocated on GPU:0, or None without a GPU."""
    if not tf.config.list_logical_devices("GPU"):
        return None
    try:
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    except (ValueError, KeyError):
        return None


# One line per logged scalar, shown by TensorBoard beside the curve. All are means over the
# iterations since the last summary (of this replica's rows).
# Every scalar a training step logs, described where it is logged (the trainer and its parts).
SCALAR_DESCRIPTIONS = algorithms.scalar_descriptions()


def describe(name):
    """The TensorBoard description of a logged scalar (a generic one for unknown names)."""
    return SCALAR_DESCRIPTIONS.get(name, f"{name}: a training log of the algorithm (mean over "
                                         "the iterations since the last summary).")


def _tag(name):
    for prefix in ("d_", "g_", "lr_", "delta_", "class_"):
        if name.startswith(prefix):
            return f"{prefix.rstrip('_')}/{name}"
    return name


class StartupCallback(keras.callbacks.Callback):
    """Prints, after the first execution, how long the run took to get there: the set-up before
    `fit` (Python and TensorFlow imports, data, networks, restore) and the first execution
    (tracing and graph optimisation, and the execution itself).

    Args:
        stream: where the line goes (stderr).
        setup_seconds: seconds from launch to `fit`; default: the process's age at `fit`.
    """

    def __init__(self, stream=None, setup_seconds=None):
        super().__init__()
        self.stream = stream or sys.stderr
        self.setup_seconds = setup_seconds
        self.first_seconds = None
        self._t0 = None

    def on_train_begin(self, logs=None):
        self._t0 = time.perf_counter()
        if self.setup_seconds is None:
            self.setup_seconds = hardware.process_age()

    def on_train_batch_end(self, batch, logs=None):
        if self.first_seconds is not None:
            return
        self.first_seconds = time.perf_counter() - self._t0
        setup = self.setup_seconds
        total = "" if setup is None else f"{setup + self.first_seconds:.1f} s after launch: "
        known = "" if setup is None else f"set-up {setup:.1f} s (imports, data, networks, " \
                                         "restore), "
        self.stream.write(f"Start-up: first iteration done {total}{known}first iteration "
                          f"{self.first_seconds:.1f} s (tracing, graph optimisation, "
                          "execution).\n")
        self.stream.flush()


class StepTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every `fit` step (an execution of `steps_per_execution`
    iterations), appended to `times`."""

    def __init__(self, times=None):
        super().__init__()
        self.times = [] if times is None else times
        self._t0 = None

    def on_train_batch_begin(self, batch, logs=None):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._t0)


class ProgressCallback(keras.callbacks.Callback):
    """A one-line progress bar with iterations/s and ETA (a new line per update when not a tty).

    Not a tty: a line each time the iteration crosses a multiple of `every` (total / 50).
    """

    def __init__(self, total_steps, every=None, stream=None, keys=("d_loss", "g_loss")):
        super().__init__()
        self.total = int(total_steps)
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = every or (1 if self.tty else max(1, self.total // 50))
        self.keys = keys

    def on_train_begin(self, logs=None):
        self.start_step = _iteration(self.model)
        self.t0 = time.time()
        self._last_step, self._last_write = self.start_step, 0.0

    def on_train_batch_end(self, batch, logs=None):
        # A batch may be several iterations (run.steps_per_execution): print when the iteration
        # crosses a multiple of `every`, and on a terminal at most 5 times a second.
        step = _iteration(self.model)
        if step != self.total:
            if step // self.every == self._last_step // self.every:
                return
            if self.tty and time.time() - self._last_write < 0.2:
                return
        self._last_step, self._last_write = step, time.time()
        done = step - self.start_step
        elapsed = time.time() - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - step) / rate if rate > 0 else float("nan")
        width = 24
        filled = int(width * step / max(self.total, 1))
        parts = [f"[{'=' * filled}{'.' * (width - filled)}] {step}/{self.total}",
                 f"{rate:.2f} it/s", f"ETA {_fmt_seconds(eta)}"]
        for k in self.keys:
            if logs and k in logs:
                parts.append(f"{k} {_scalar(logs[k]):.4f}")
        line = " | ".join(parts)
        if self.tty:
            self.stream.write("\r" + line)
            if step == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _fmt_seconds(seconds):
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"
