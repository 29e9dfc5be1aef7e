"""The run directory as durable state: its lock, its checkpoints, its recorded config.

* **Lock.** A run that trains holds `DIR/run.lock` (host, pid, start time, command). A second run
  on the same directory refuses, naming the holder; a lock left by a dead process on this host
  (SIGKILL, a crash) is taken over with a message.
* **Unreadable checkpoints.** Before restoring, the newest checkpoint is read in full; one that
  cannot be read (a truncated data file, a missing shard) is moved to `DIR/checkpoints/
  unreadable/` with a warning, never deleted, and the next newest is tried.
* **The config of a resumed run** is compared with the one recorded in
  `DIR/operative_config.gin`: every difference is printed; structural ones (another data set,
  network, algorithm, latent size, batch or seed) are refused unless
  `run.allow_structural_change = True`; the recorded config is kept as
  `operative_config.<iteration>.gin` and the new one written in its place.
"""

import datetime
import json
import os
import shutil
import socket
import sys

import tensorflow as tf
from gin import config_parser

from tfgan_fast.runtime import errors
from tfgan_fast.runtime import hardware

LOCK_FILE = "run.lock"
UNREADABLE_SUBDIR = "unreadable"
CONFIG_FILE = "operative_config.gin"


# --- the lock ---------------------------------------------------------------------------------

def _alive(holder):
    """Whether the process recorded in a lock on THIS host still runs (same pid, same start)."""
    pid = holder.get("pid")
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, TypeError, ValueError):
        return True  # exists but not ours, or unreadable: assume alive
    start = hardware.process_start_ticks(pid)
    return start is None or holder.get("process_start") in (None, start)


def _describe(holder):
    return (f"pid {holder.get('pid')} on host {holder.get('host')}, started "
            f"{holder.get('started')}" + (f" ({holder['command']})" if holder.get("command")
                                          else ""))


class RunLock:
    """`DIR/run.lock`, held while a run trains in DIR. Use as a context manager.

    Args:
        model_dir: the run directory.
        log: `fn(str)` for the take-over message.

    Raises:
        errors.RunDirectoryLocked: another live run (or a run on another host) holds it.
    """

    def __init__(self, model_dir, log=print):
        self.path = os.path.join(model_dir, LOCK_FILE)
        self.log = log
        self.held = False

    def _record(self):
        return {"host": socket.gethostname(), "pid": os.getpid(),
                "process_start": hardware.process_start_ticks(os.getpid()),
                "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "command": " ".join(sys.argv)[:500]}

    def _read(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def acquire(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        for _ in range(2):  # a second try after taking over a stale lock
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._read()
                if holder is None:  # being written this instant, or garbage: look again
                    holder = self._read() or {}
                here = holder.get("host") == socket.gethostname()
                if here and holder.get("pid") == os.getpid():
                    raise errors.RunDirectoryLocked(
                        f"{os.path.dirname(self.path)} is already being trained by this "
                        "process (two runs on one directory)") from None
                if here and not _alive(holder):
                    self.log(f"Taking over {self.path} from a run that is gone "
                             f"({_describe(holder)}).")
                    os.remove(self.path)
                    continue
                where = "" if here else (f"; if that run is dead, delete {self.path} "
                                         "and rerun")
                raise errors.RunDirectoryLocked(
                    f"{os.path.dirname(self.path)} is in use by another run: "
                    f"{_describe(holder)}. Wait for it to end or stop it, or train in "
                    f"another --model_dir{where}") from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self._record(), f)
            self.held = True
            return self
        raise errors.RunDirectoryLocked(f"could not take {self.path}")

    def release(self):
        if self.held:
            holder = self._read() or {}
            if holder.get("pid") == os.getpid():
                os.remove(self.path)
            self.held = False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False


# --- unreadable checkpoints ---------------------------------------------------------------------

def checkpoint_files(prefix):
    """The files of checkpoint `prefix` (`ckpt-N.index`, `ckpt-N.data-*`)."""
    return tf.io.gfile.glob(prefix + ".index") + tf.io.gfile.glob(prefix + ".data-*")


def unreadable_reason(prefix):
    """None if every tensor of checkpoint `prefix` can be read, else why not (one line)."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
    except Exception as e:  # pylint: disable=broad-except  # any failure to read is the answer
        return errors.one_line(e)[:300]
    return None


def set_aside(prefix, log=print):
    """Moves checkpoint `prefix`'s files to `checkpoints/unreadable/`; returns the new prefix."""
    directory = os.path.join(os.path.dirname(prefix), UNREADABLE_SUBDIR)
    tf.io.gfile.makedirs(directory)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for path in checkpoint_files(prefix):
        name = os.path.basename(path)
        tf.io.gfile.rename(path, os.path.join(directory, f"{stamp}.{name}"), overwrite=True)
    return os.path.join(directory, f"{stamp}.{os.path.basename(prefix)}")


def newest_readable_checkpoint(checkpoint_dir, log=print, modify=True):
    """The newest checkpoint in `checkpoint_dir` that reads in full, setting unreadable newer
    ones aside with a warning; rewrites the directory's `checkpoint` state file to match.
    `modify=False` (a multi-worker run's non-chief workers) skips them without touching the
    directory.

    Returns:
        Its prefix, or None when there is none.
    """
    state = tf.train.get_checkpoint_state(checkpoint_dir)
    if state is None:
        return None
    # get_checkpoint_state has already joined relative entries to `checkpoint_dir` (joining
    # again would double a relative --model_dir: "runs/x/checkpoints/runs/x/checkpoints/...").
    prefixes = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    stamps = dict(zip(prefixes, state.all_model_checkpoint_timestamps))
    kept = list(prefixes)
    for prefix in reversed(prefixes):
        why = unreadable_reason(prefix)
        if why is None:
            break
        if not modify:
            kept.remove(prefix)
            continue
        moved = set_aside(prefix, log) if checkpoint_files(prefix) else None
        log(f"WARNING: checkpoint {prefix} cannot be read ({why}); "
            + (f"moved it to {moved}.* " if moved else "") + "and resuming from an older one.")
        kept.remove(prefix)
    if modify and not kept:
        # Every checkpoint was set aside: the run starts afresh, with no state file.
        tf.io.gfile.remove(os.path.join(checkpoint_dir, "checkpoint"))
    elif modify and kept != prefixes:
        # With their timestamps, so that the CheckpointManager keeps rotating them.
        tf.compat.v1.train.update_checkpoint_state(
            checkpoint_dir, kept[-1] if kept else "", all_model_checkpoint_paths=kept,
            all_model_checkpoint_timestamps=[stamps[p] for p in kept] if stamps else None)
    return kept[-1] if kept else None


# --- the recorded config ----------------------------------------------------------------------

# Bindings of `run` that decide what the checkpoint is OF; changing one on resume is refused.
STRUCTURAL_RUN_ARGS = ("algorithm", "generator", "discriminator", "data", "z_dim",
                       "batch_size", "seed", "unconditional")


class _Delegate(config_parser.ParserDelegate):
    """Keeps references and macros as text: `@Name()`, `%NAME`."""

    def configurable_reference(self, scoped_name, evaluate):
        return "@" + scoped_name + ("()" if evaluate else "")

    def macro(self, name):
        return "%" + name


def parse_bindings(text):
    """`{"Selector.param": value}` of an operative config, macros substituted."""
    bindings, macros = {}, {}
    for statement in config_parser.ConfigParser(text, _Delegate()):
        if not isinstance(statement, config_parser.BindingStatement):
            continue
        name = "/".join(p for p in (statement.scope, statement.selector) if p)
        if statement.arg_name:
            bindings[f"{name}.{statement.arg_name}"] = statement.value
        else:
            macros[name] = statement.value

    def resolve(value):
        while isinstance(value, str) and value.startswith("%") and value[1:] in macros:
            value = macros[value[1:]]
        return value

    return {k: resolve(v) for k, v in bindings.items()}


def _referenced(value):
    """`"@ResNetGenerator"` / `"@FashionMNIST()"` -> the configurable's name, else None."""
    if isinstance(value, str) and value.startswith("@"):
        return value[1:].split("(")[0].split("/")[-1]
    return None


def config_changes(old_text, new_text):
    """What changed between two operative configs.

    Returns:
        `(structural, other)`: lists of `(binding, old value, new value)`. Structural: the
        `run` bindings in `STRUCTURAL_RUN_ARGS`, and every parameter of the data source and
        network classes either config names (another split, width, head ...).
    """
    old, new = parse_bindings(old_text), parse_bindings(new_text)
    owners = set()
    for bindings in (old, new):
        for arg in ("data", "generator", "discriminator"):
            name = _referenced(bindings.get(f"run.{arg}"))
            if name:
                owners.add(name)
    missing = "(default)"
    structural, other = [], []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key, missing), new.get(key, missing)
        if before == after:
            continue
        selector, arg = key.rsplit(".", 1)
        configurable = selector.split("/")[-1]
        is_structural = ((configurable == "run" and arg in STRUCTURAL_RUN_ARGS)
                         or configurable in owners)
        (structural if is_structural else other).append((key, before, after))
    return structural, other


def _fmt(change):
    key, before, after = change
    return f"{key}: {before!r} -> {after!r}"


def check_resumed_config(model_dir, new_text, step, allow_structural_change=False, log=print):
    """Compares a resumed run's config with the recorded one; keeps the old one beside it.

    Prints every difference. Raises `errors.ConfigChangeError` naming each structural change
    unless `allow_structural_change`. When something changed, the recorded config is kept as
    `operative_config.<step>.gin` (the config that trained up to `step`).

    Returns:
        The number of differences.
    """
    path = os.path.join(model_dir, CONFIG_FILE)
    if not tf.io.gfile.exists(path):
        return 0
    with tf.io.gfile.GFile(path) as f:
        old_text = f.read()
    structural, other = config_changes(old_text, new_text)
    if structural and not allow_structural_change:
        raise errors.ConfigChangeError(
            f"{model_dir} holds a run of another configuration; resuming it with this one "
            f"would change what its checkpoint is of: {'; '.join(map(_fmt, structural))}. "
            "Train in a new --model_dir, rerun with the recorded config "
            f"({path}), or bind run.allow_structural_change = True to resume anyway.")
    changes = structural + other
    if changes:
        log(f"Resuming at iteration {step} with {len(changes)} changed binding(s) (the "
            f"previous config is kept as {CONFIG_FILE[:-4]}.{step}.gin):")
        for change in changes:
            log(f"  {_fmt(change)}" + ("  [structural, allowed]" if change in structural
                                        else ""))
        tf.io.gfile.copy(path, os.path.join(model_dir, f"{CONFIG_FILE[:-4]}.{step}.gin"),
                         overwrite=True)
    return len(changes)


def checkpoint_step(prefix):
    """The iteration of checkpoint `.../ckpt-<iteration>` (0 for other names)."""
    tail = os.path.basename(prefix).rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def remove_temporary_checkpoint_files(checkpoint_dir, step):
    """Deletes what a failed save of `ckpt-<step>` left (`ckpt-<step>_temp*`)."""
    for path in tf.io.gfile.glob(os.path.join(checkpoint_dir, f"ckpt-{step}_temp*")):
        if tf.io.gfile.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                tf.io.gfile.remove(path)
            except (OSError, tf.errors.OpError):
                pass
