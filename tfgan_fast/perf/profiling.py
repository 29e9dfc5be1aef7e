"""A profiler trace of chosen training iterations (`run.profile_steps`, `--profile_steps=A,B`).

`ProfileCallback` starts TensorFlow's profiler (`tf.profiler.experimental.start`) before
iteration A and stops it after iteration B; the trace lands in `DIR/train/plugins/profile/
<session>/<host>.xplane.pb`, where TensorBoard's Profile tab (the `tensorboard-plugin-profile`
package, `pip install tfgan_fast[profile]`) finds it: `tensorboard --logdir DIR`.

Iterations are counted as in the progress bar: iteration `i` is the one after which the run's
counter reads `i`. With `run.steps_per_execution = K` one `fit` step runs K iterations in one
graph call; the run lowers K to divide `A - 1` and `B` (`boundaries`), so the trace holds
exactly iterations A..B. Each `fit` step in the trace is annotated as a step (`"train"`, with
`step_num` = its first iteration and `iterations` = K), the annotation the profile plugin's
step-time views read.
"""

import collections
import glob
import os
import re

import keras
import tensorflow as tf

STEP_EVENT = "train"


def check_profile_steps(value, train_steps):
    """`(A, B)` from `run.profile_steps` (None, `(A, B)` or `"A,B"`); None for None.

    Raises:
        ValueError: not two integers with `1 <= A <= B <= train_steps`, naming the value.
    """
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else value
    try:
        first, last = (int(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(f"run.profile_steps = {value!r} must be two iterations A,B "
                         "(e.g. 10,12)") from None
    if not 1 <= first <= last <= train_steps:
        raise ValueError(f"run.profile_steps = {value!r} must satisfy 1 <= A <= B <= "
                         f"run.train_steps = {train_steps}")
    return first, last


class ProfileCallback(keras.callbacks.Callback):
    """Traces iterations `first..last` (1-based, inclusive) into `log_dir`.

    `boundaries` are the iteration counts at which executions must end for the trace to be
    exact (`experiment` lowers `steps_per_execution` to divide them). A resumed run that starts
    after `first - 1` traces nothing and says so.
    """

    def __init__(self, log_dir, first, last, stream=None):
        super().__init__()
        self.log_dir = log_dir
        self.first, self.last = int(first), int(last)
        self.boundaries = (self.first - 1, self.last)
        self.stream = stream
        self.active = False
        self._step = None
        self._before = 0

    def on_train_begin(self, logs=None):
        start = int(self.model.iteration.numpy())
        if start > self.first - 1:
            print(f"run.profile_steps = ({self.first}, {self.last}): the run starts at "
                  f"iteration {start}, after iteration {self.first - 1}; no trace.",
                  file=self.stream, flush=True)

    def on_train_batch_begin(self, batch, logs=None):
        self._before = int(self.model.iteration.numpy())
        if self._before == self.first - 1 and not self.active:
            tf.profiler.experimental.start(self.log_dir)
            self.active = True
        if self.active:
            k = self.model.steps_per_execution
            self._step = tf.profiler.experimental.Trace(
                STEP_EVENT, step_num=self._before + 1, iterations=k, _r=1)
            self._step.__enter__()

    def on_train_batch_end(self, batch, logs=None):
        if self._step is not None:
            self._step.__exit__(None, None, None)
            self._step = None
        if self.active and int(self.model.iteration.numpy()) >= self.last:
            self._stop()

    def on_train_end(self, logs=None):
        self._stop()

    def _stop(self):
        if self.active:
            tf.profiler.experimental.stop()
            self.active = False
            print(f"Profiler trace of iterations {self.first}-{self.last}: "
                  f"{self.log_dir} (tensorboard --logdir of the run, Profile tab).",
                  file=self.stream, flush=True)


def trace_files(log_dir):
    """The `.xplane.pb` traces under `log_dir`, oldest session first."""
    return sorted(glob.glob(os.path.join(log_dir, "plugins", "profile", "*", "*.xplane.pb")))


def read_trace(path):
    """The `XSpace` protobuf of one `.xplane.pb` file."""
    # pylint: disable=import-outside-toplevel,no-name-in-module
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with tf.io.gfile.GFile(path, "rb") as f:
        space.ParseFromString(f.read())
    return space


def trace_steps(space):
    """`[(step_num, iterations)]` of the step annotations in a trace, in time order."""
    steps = []
    for plane in space.planes:
        names = {k: m.name for k, m in plane.stat_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                if plane.event_metadata[event.metadata_id].name != STEP_EVENT:
                    continue
                stats = {names[s.metadata_id]: s for s in event.stats}
                if "step_num" not in stats:
                    continue
                steps.append((line.timestamp_ns * 1000 + event.offset_ps,
                              _stat_value(stats["step_num"]),
                              _stat_value(stats.get("iterations"))))
    return [(step, k) for _, step, k in sorted(steps)]


def event_counts(space, names):
    """How many events of each name in `names` the trace holds (all planes and lines)."""
    counts = dict.fromkeys(names, 0)
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if name in counts:
                    counts[name] += 1
    return counts


# How TensorFlow's executor names a kernel's event: "<node name>:<op type>".
_OP_EVENT = re.compile(r"^[^\s:]+:([A-Za-z_][A-Za-z0-9_]*)$")


def op_times(space):
    """`{op type: seconds}` summed over the kernel events of a trace (each executed node is an
    event named `<node>:<op type>`), for comparing two programs' traces op by op."""
    totals = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                match = _OP_EVENT.match(plane.event_metadata[event.metadata_id].name)
                if match:
                    totals[match.group(1)] += event.duration_ps * 1e-12
    return dict(totals)


def _stat_value(stat):
    if stat is None:
        return None
    kind = stat.WhichOneof("value")
    value = getattr(stat, kind)
    return int(value) if kind in ("int64_value", "uint64_value") else int(str(value))
