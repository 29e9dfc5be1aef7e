"""A run, read top to bottom: strategy -> spec -> build -> restore -> fit -> evaluate -> export.

`run(model_dir)` trains what gin's `run.*` bindings describe (a `RunSpec`, `tfgan_fast.run.spec`),
resumes from `model_dir` and exports; it never names an algorithm: the algorithm class, the
generator and discriminator classes, the data source and the optimiser factories come in as gin
references. It owns the strategy, the batch, checkpoints (`DIR/checkpoints/ckpt-<iteration>`),
TensorBoard (`DIR/train`), sample grids (`DIR/samples`), the operative config
(`DIR/operative_config.gin`), the data's shape (`DIR/data_spec.json`, so tools rebuild the model
without the data) and the export (`DIR/export/<iteration>/`, TF Serving's layout).
"""

import contextlib
import dataclasses
import json
import math
import os
import shutil
import tempfile
import time

import gin
import keras
import tensorflow as tf

from tfgan_fast import eval as eval_lib
from tfgan_fast.algorithms import base
from tfgan_fast.data import spec as data_spec
from tfgan_fast.export import formats as export_formats_lib
from tfgan_fast.export import saved_model as export_lib
from tfgan_fast.perf import profiling
from tfgan_fast.run import budget
from tfgan_fast.run import callbacks as callbacks_lib
from tfgan_fast.run import config
from tfgan_fast.run import rundir
from tfgan_fast.run import spec as spec_lib
from tfgan_fast.runtime import distribute
from tfgan_fast.runtime import errors
from tfgan_fast.runtime import precision

CHECKPOINT_SUBDIR = "checkpoints"
EXPORT_SUBDIR = "export"
BEST_SUBDIR = "best"


class EvaluationSetupError(errors.RunError, RuntimeError):
    """The evaluator could not load its classifier or real statistics; training did not start."""


@dataclasses.dataclass
class Experiment:
    """What `build` (`run(..., setup_only=True)`) returns: a built, restored trainer and its
    plumbing."""
    trainer: base.GANTrainer
    strategy: tf.distribute.Strategy
    checkpoint: tf.train.Checkpoint
    manager: tf.train.CheckpointManager
    data: object
    model_dir: str
    start_step: int
    train_steps: int
    per_replica_batch: int = None
    policy_reason: str = None  # the numeric policy `run` resolved, and why
    config_text: str = None  # gin's operative config when the run was built
    spec: spec_lib.RunSpec = None  # what gin's `run.*` bindings described

    # The batch in its three forms, all from `run.batch_size` (checked to split evenly over
    # the replicas into `per_replica_batch`).
    @property
    def global_batch(self):
        """Real examples per D step over all replicas (`run.batch_size`)."""
        return self.per_replica_batch * self.strategy.num_replicas_in_sync

    @property
    def local_batch(self):
        """Real examples one replica reads per iteration (one batch per D step)."""
        return self.per_replica_batch * self.trainer.real_batches_per_iteration

    @property
    def images_per_iteration(self):
        """Real examples all replicas read per iteration."""
        return self.global_batch * self.trainer.real_batches_per_iteration


@contextlib.contextmanager
def _removed_at_exit(path):
    """A non-chief worker's scratch directory, removed however the run ends."""
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def resolve_checkpoint(model_dir, checkpoint):
    """`None` (newest), a step number (`"200"` -> `DIR/checkpoints/ckpt-200`) or a path."""
    if checkpoint and str(checkpoint).isdigit():
        return os.path.join(model_dir, CHECKPOINT_SUBDIR, f"ckpt-{checkpoint}")
    return checkpoint or None


def load_for_tools(model_dir, gin_params=(), checkpoint_path=None):
    """Rebuilds a finished or running training run from its directory, without its data.

    Parses `DIR/operative_config.gin` (plus `gin_params`), stands a `DataSpec` in for the data
    source, and restores `checkpoint_path` (see `resolve_checkpoint`; default: the newest).

    Returns:
        An `Experiment`.
    """
    config_path = os.path.join(model_dir, "operative_config.gin")
    if not tf.io.gfile.exists(config_path):
        raise FileNotFoundError(f"{config_path} not found: is {model_dir} a tfgan_fast "
                                "training directory?")
    bindings = data_spec.spec_bindings(os.path.join(model_dir, data_spec.SPEC_FILE))
    bindings.append("run.evaluator = None")  # tools evaluate on their own terms
    config.parse([config_path], bindings + list(gin_params))
    return build(model_dir, checkpoint_path=resolve_checkpoint(model_dir, checkpoint_path))


def _restore(checkpoint, manager, path, model_dir):
    """Restores `path` into the built trainer; returns `path`.

    Raises:
        FileNotFoundError: `path` does not exist.
        errors.IncompatibleCheckpointError: the checkpoint does not fit the networks (another
            width, network or algorithm), naming the first variable that does not match.
    """
    if not tf.io.gfile.exists(path + ".index"):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist "
                                f"(known: {manager.checkpoints or 'none'})")
    try:
        checkpoint.restore(path).assert_existing_objects_matched()
    except tf.errors.NotFoundError as e:
        if "all_replicas" not in str(e):
            raise
        # Checkpoints of tfgan_fast before exact resume kept only replica 0's perturbation
        # as a plain variable; continuing from one would not be the run it claims to be.
        raise errors.IncompatibleCheckpointError(
            f"checkpoint {path} was written by an older tfgan_fast, before checkpoints kept "
            "every replica's adversarial perturbation (delta/.ATTRIBUTES/all_replicas is "
            "missing): resume or evaluate it with the version that wrote it, or train in a "
            "new --model_dir.") from e
    except (ValueError, AssertionError, tf.errors.InvalidArgumentError) as e:
        raise errors.IncompatibleCheckpointError(
            f"checkpoint {path} does not fit the networks this config builds: "
            f"{errors.one_line(e)[:400].rstrip('.')}. Was it made with another width, "
            f"network or algorithm? Resume with the config it was made with "
            f"({os.path.join(model_dir, rundir.CONFIG_FILE)}) or train in a new "
            "--model_dir.") from e
    return path


def _constant_learning_rates(trainer):
    """`[(name, optimizer, rate)]` for optimisers with a constant rate. Keras keeps such a rate
    as a variable, which a checkpoint restores over the configured value."""
    rates = []
    for name, opt in (("G", trainer.g_optimizer), ("D", trainer.d_optimizer)):
        if isinstance(getattr(opt, "_learning_rate", None), keras.Variable):
            rates.append((name, opt, float(opt.learning_rate.numpy())))
    return rates


def run(model_dir, setup_only=False, checkpoint_path=None, strategy=None, **overrides):
    """Trains the run that gin's `run.*` bindings describe (a `RunSpec`) for its `train_steps`
    iterations, resuming from `model_dir` if possible.

    Args:
        model_dir: where checkpoints, logs, samples, config and export live.
        setup_only: build and restore, but do not train; returns an `Experiment`.
        checkpoint_path: with `setup_only`, restore this checkpoint instead of the newest.
        strategy: the strategy; by default built from `run.strategy_fn` and `run.cpu_replicas`
            BEFORE gin builds the spec's other references (`spec.make_strategy`).
        **overrides: `RunSpec` fields that replace gin's bindings (e.g. `algorithm=FastGAN`).

    On several workers (`TF_CONFIG`, see `distribute.make_strategy`) every worker runs the same
    command with the same `model_dir`: each restores from `model_dir`, only the chief writes
    into it (checkpoints, logs, samples, evaluations, export, config) and holds its lock, and
    every other worker writes into a temporary directory of its own, removed at the end.

    Returns:
        An `Experiment` (setup_only) or a dict with `final_step`, `checkpoint`, `export_path`
        and `evaluation` (the last evaluation's dict, or None).
    """
    if strategy is None:
        strategy = spec_lib.make_strategy(overrides)
        # A worker with another config fails here, in seconds, naming itself.
        distribute.check_same_config(strategy, gin.config_str())
    spec = spec_lib.RunSpec(**overrides)
    if spec.budget_seconds is not None and not setup_only:
        # Rebinds run.train_steps and the schedules, then builds the spec again.
        budget.apply(model_dir, spec.budget_seconds, measure_fn=lambda: budget.measure(build))
        return run(model_dir, budget_seconds=None, strategy=strategy)
    profiling.check_profile_steps(spec.profile_steps, spec.train_steps)
    export_formats_lib.normalise_formats(spec.export_formats)  # fail before training
    policy, policy_reason = precision.resolve(spec.mixed_precision)
    _, task_type, task_id, chief = distribute.worker_layout(strategy)
    # Every worker restores from model_dir; only the chief writes into it (TF's multi-worker
    # guide: the others save to directories of their own, which are then thrown away).
    write_dir = model_dir if chief else tempfile.mkdtemp(
        prefix=f"tfgan_fast_{task_type}{task_id}_")
    # A training run holds DIR/run.lock; tools that only read a run (setup_only) and
    # non-chief workers do not.
    lock = (contextlib.nullcontext() if setup_only or not chief
            else rundir.RunLock(model_dir))
    cleanup = (contextlib.nullcontext() if chief
               else _removed_at_exit(write_dir))
    # The Keras policy is process-global: set it for this run only, so that it neither leaks
    # from an earlier run nor into whatever the process does next (tests, tools).
    with cleanup, lock, precision.global_policy(policy):
        exp, restored = _build(spec, model_dir, write_dir, strategy, policy_reason, setup_only,
                               checkpoint_path, chief)
        if setup_only:
            return exp
        return _train_and_export(exp, model_dir, restored, chief, task_type, task_id)


def build(model_dir, checkpoint_path=None):
    """The run that gin's `run.*` bindings describe, built and restored (its newest checkpoint,
    or `checkpoint_path`), without training: the entry point of the tools. Returns an
    `Experiment`."""
    return run(model_dir, setup_only=True, checkpoint_path=checkpoint_path)


def _build(spec, model_dir, write_dir, strategy, policy_reason, setup_only, checkpoint_path,
           chief):
    """Networks, trainer, optimisers, EMA and checkpoint, restored; `(Experiment, restored
    checkpoint path or None)`. Runs inside `run`'s contexts (lock, numeric policy)."""
    keras.utils.set_random_seed(spec.seed)
    per_replica_batch = distribute.check_global_batch(spec.batch_size, strategy)
    data, z_dim = spec.data, spec.z_dim
    if len(data.image_shape) == 1:
        # Vector data (the 2-D synthetic sets): no resolution, `channels` is the dimension.
        height, channels = None, data.image_shape[0]
    else:
        height, width, channels = data.image_shape
        if height != width:
            raise ValueError(f"square images expected, data {data.name} gives "
                             f"{data.image_shape}")
    num_classes = 0 if spec.unconditional else data.num_classes

    def make_generator():
        return spec.generator(resolution=height, channels=channels, num_classes=num_classes,
                              z_dim=z_dim)

    with strategy.scope():
        g_net = make_generator()
        d_net = spec.discriminator(resolution=height, channels=channels,
                                   num_classes=num_classes)
        # One iteration per execution until `_train` knows the start and the intervals: the
        # dry run, --budget's timing and the tools time single iterations of this trainer.
        trainer = spec.algorithm(g_net, d_net, z_dim=z_dim, num_classes=num_classes,
                                 seed=spec.seed, ema=spec.ema)
        trainer.compile(g_optimizer=spec.g_optimizer(trainer.iteration),
                        d_optimizer=spec.d_optimizer(trainer.iteration),
                        jit_compile=spec.jit_compile, run_eagerly=spec.run_eagerly)
        trainer.build_all(per_replica_batch, data.image_shape)
        if spec.ema is not None:
            # The average lives in a second G built the same way (same gin bindings), after
            # the trained networks (the order their initialisers draw in).
            average = make_generator()
            average(tf.zeros([2, z_dim]),
                    tf.zeros([2], tf.int32) if num_classes else None, training=False)
            spec.ema.attach(g_net, average)
        strategy.run(trainer.initialize_state)

    checkpoint_dir = os.path.join(model_dir, CHECKPOINT_SUBDIR)
    if checkpoint_path is None and not setup_only:
        # Unreadable newer checkpoints are set aside (the chief holds the lock); the other
        # workers skip the same ones without touching the directory.
        checkpoint_path = rundir.newest_readable_checkpoint(checkpoint_dir, modify=chief)
    checkpoint = tf.train.Checkpoint(**trainer.checkpoint_items())
    manager = tf.train.CheckpointManager(checkpoint,
                                         os.path.join(write_dir, CHECKPOINT_SUBDIR),
                                         max_to_keep=spec.keep_checkpoints,
                                         checkpoint_name="ckpt")
    checkpoint_path = checkpoint_path or manager.latest_checkpoint
    config_text = gin.operative_config_str()
    if checkpoint_path and not setup_only and chief:
        rundir.check_resumed_config(model_dir, config_text,
                                    rundir.checkpoint_step(checkpoint_path),
                                    spec.allow_structural_change)
    configured_rates = _constant_learning_rates(trainer)
    restored = (_restore(checkpoint, manager, checkpoint_path, model_dir)
                if checkpoint_path else None)
    for name, opt, rate in configured_rates:
        # The configured rate wins over the checkpoint's: a resumed run trains as configured.
        if restored and not setup_only and float(opt.learning_rate.numpy()) != rate:
            print(f"{name} learning rate: {float(opt.learning_rate.numpy()):g} in the "
                  f"checkpoint, {rate:g} in the config; training with {rate:g}.", flush=True)
        opt.learning_rate = rate
    exp = Experiment(trainer, strategy, checkpoint, manager, data, write_dir,
                     int(trainer.iteration.numpy()), spec.train_steps, per_replica_batch,
                     policy_reason, config_text, spec)
    return exp, restored


def _train_and_export(exp, model_dir, restored, chief, task_type, task_id):
    """Records the config, trains `exp` to its `train_steps`, exports G; `run`'s result."""
    trainer, strategy, data, spec = exp.trainer, exp.strategy, exp.data, exp.spec
    write_dir, start_step, train_steps = exp.model_dir, exp.start_step, exp.train_steps
    tf.io.gfile.makedirs(write_dir)
    with tf.io.gfile.GFile(os.path.join(write_dir, rundir.CONFIG_FILE), "w") as f:
        f.write(exp.config_text)
    data_spec.write_spec(data, os.path.join(write_dir, data_spec.SPEC_FILE))
    print(distribute.describe(strategy, exp.global_batch), flush=True)
    print(f"Numeric policy: {exp.policy_reason}.", flush=True)
    if restored:
        print(f"Resumed from {restored} (iteration {start_step} of {train_steps}).",
              flush=True)
        if not getattr(data, "exact_resume", False):
            print(f"Note: {data.name} is streamed without random access, so the resumed "
                  "run reshuffles its data instead of continuing the exact stream.",
                  flush=True)

    evaluator = spec.evaluator
    if start_step < train_steps:
        if evaluator is not None:
            # A bad classifier or missing real statistics fail before training, not after.
            try:
                evaluator.prepare()
            except Exception as e:
                raise EvaluationSetupError(
                    f"{e}\nTo train without evaluation, bind run.evaluator = None "
                    "(e.g. --gin_param='run.evaluator = None').") from e
        last_eval = _train(exp)
    else:
        last_eval = None
    export_path = None
    use_ema = trainer.ema is not None and spec.export_ema
    exported = trainer.ema.describe() if use_ema else "G"
    if spec.export_at_end:
        which = f"the generator ({exported})" if use_ema else "the generator"
        print(f"Exporting {which} to {os.path.join(write_dir, EXPORT_SUBDIR)} ...",
              flush=True)
        export_path = export_lib.export_version(
            trainer.ema.generator if use_ema else trainer.generator,
            os.path.join(write_dir, EXPORT_SUBDIR),
            int(trainer.iteration.numpy()), trainer.z_dim, trainer.num_classes,
            formats=export_formats_lib.normalise_formats(spec.export_formats),
            class_names=getattr(data, "class_names", None))
    final_step = int(trainer.iteration.numpy())
    if chief:
        print(summary(model_dir, final_step, last_eval, evaluator, export_path), flush=True)
    else:
        print(f"Done: iteration {final_step} ({task_type} {task_id}; the chief wrote the "
              f"run to {model_dir}).", flush=True)
        export_path = None
    return {"final_step": final_step, "checkpoint": exp.manager.latest_checkpoint,
            "export_path": export_path, "evaluation": last_eval, "generator": exported}


def dry_run(model_dir, steps=3, print_config=False, log=print):
    """Builds everything a run would, reports it, times a few iterations, writes nothing.

    The report: the config (all of it with `print_config`), G's and D's parameter counts, the
    strategy and batches, the data, and `steps` timed iterations (after one untimed: tracing)
    with the estimated time of the whole run. On several replicas also one timed all-reduce of
    a tensor the size of the gradients (`distribute.allreduce_probe`), and on several workers
    the config digest that every worker was checked to share (`run` checks it). A checkpoint
    in `model_dir` is read, never written; the timed iterations change only this process's
    copy of the model.

    Returns:
        A dict with `params_g`, `params_d`, `seconds_per_iteration` and `estimated_seconds`.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"--dry_run_steps must be a positive integer, got {steps!r}")
    exp = build(model_dir)
    trainer, strategy = exp.trainer, exp.strategy
    config_text = gin.operative_config_str()
    if print_config:
        log(config_text)
    else:
        bindings = sum(1 for line in config_text.splitlines()
                       if " = " in line and not line.startswith("#"))
        log(f"Config: {bindings} bindings resolved (--print_config prints them).")
    params_g, params_d = trainer.parameter_counts()
    log(f"Networks: G {type(trainer.generator).__name__} {params_g:,} parameters, "
        f"D {type(trainer.discriminator).__name__} {params_d:,} parameters; "
        f"{type(trainer).__name__}.")
    log("Step: " + "; ".join(trainer.describe_parts()) + ".")
    log(distribute.describe(strategy, exp.global_batch))
    workers = distribute.worker_layout(strategy)[0]
    if workers > 1:
        log(f"Config digest {distribute.config_digest(gin.config_str())}: the same on all "
            f"{workers} workers.")
    if strategy.num_replicas_in_sync > 1:
        seconds, bandwidth = distribute.allreduce_probe(strategy, params_g + params_d)
        log(f"All-reduce of {params_g + params_d:,} float32 (G's and D's gradients, "
            f"{4 * (params_g + params_d) / 1e6:.3g} MB) over {strategy.num_replicas_in_sync} "
            f"replicas: {1000 * seconds:.1f} ms, bus bandwidth {bandwidth / 1e9:.3g} GB/s.")
    log(f"Numeric policy: {exp.policy_reason}.")
    data = exp.data
    size = getattr(data, "num_examples", None)
    log(f"Data: {data.name}, {data.num_classes} classes, examples of shape "
        f"{tuple(data.image_shape)}" + (f", {size:,} examples." if size else "."))
    start = time.perf_counter()
    times = budget.step_timer(exp, start_step=exp.start_step)(steps + 1)
    first = times[0]
    per_it = sum(times[1:]) / steps
    remaining = exp.train_steps - exp.start_step
    log(f"Timed: first iteration {first:.2f} s (tracing; {time.perf_counter() - start:.1f} s "
        f"with the data's start), then {per_it:.3f} s/it over {steps}; {remaining:,} "
        f"iterations to go (from {exp.start_step:,} to {exp.train_steps:,}): about "
        f"{_duration(remaining * per_it)} of training, before evaluations and checkpoints.")
    log(f"Dry run: nothing was written to {model_dir}.")
    return {"params_g": params_g, "params_d": params_d, "seconds_per_iteration": per_it,
            "estimated_seconds": remaining * per_it}


def _duration(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def summary(model_dir, step, evaluation=None, evaluator=None, export_path=None):
    """The few lines a run ends with: its quality, where its samples are, what to do next."""
    lines = [f"Done: iteration {step}, run directory {model_dir}"]
    if evaluation is not None:
        name = evaluator.classifier.qualify if evaluator is not None else (lambda m: m)
        parts = [f"{name('FID')} {evaluation['fid']:.2f}",
                 f"{name('IS')} {evaluation['is_mean']:.2f} ± {evaluation['is_std']:.2f}"]
        if evaluation.get("class_acc") is not None:
            parts.append(f"class accuracy {100 * evaluation['class_acc']:.1f}%")
        if evaluation.get("precision") is not None:
            parts.append(f"precision {evaluation['precision']:.3f}, recall "
                         f"{evaluation['recall']:.3f}")
        lines.append(f"  quality at iteration {evaluation['step']}: " + ", ".join(parts))
        if evaluation.get("convention"):
            lines.append(f"    measured with {evaluation['convention']}")
    grid = os.path.join(model_dir, "samples", f"step_{step:08d}.png")
    if tf.io.gfile.exists(grid):
        lines.append(f"  samples (one row per class): {grid}")
    lines.append(f"  curves: tensorboard --logdir {model_dir}")
    if export_path:
        base = os.path.dirname(export_path)
        lines.append(f"  generator SavedModel: {export_path} (saved_model_cli show --dir "
                     f"{export_path} --all)")
        lines.append(f"  serve it (docs/export.md, \"Serving with TF Serving\"): docker run "
                     f"-p 8501:8501 -v \"$(realpath {base})\":/models/generator "
                     "-e MODEL_NAME=generator tensorflow/serving")
    lines.append(f"  train longer: the same command with --gin_param=run.train_steps=N (N > "
                 f"{step}) resumes at iteration {step}")
    return "\n".join(lines)


def _best_checkpoint_fn(exp, evaluator):
    """Keeps the best-FID checkpoint in `DIR/best/ckpt-<iteration>` with a `best.json`."""
    best_dir = os.path.join(exp.model_dir, BEST_SUBDIR)
    manager = tf.train.CheckpointManager(exp.checkpoint, best_dir, max_to_keep=1,
                                         checkpoint_name="ckpt")

    def save(step, fid):
        callbacks_lib.save_checkpoint(manager, step)
        with tf.io.gfile.GFile(os.path.join(best_dir, "best.json"), "w") as f:
            json.dump({"step": int(step), "fid": float(fid),
                       "classifier": evaluator.classifier.identity}, f)

    return save


# What a collective raises when a peer is gone (missed heartbeats), hung past the collective
# timeout, or aborted its side.
_LOST_WORKER_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
                       tf.errors.AbortedError, tf.errors.CancelledError)


def _first_images(data, seed, count=100):
    """The first `count` training images of the run's stream, for TensorBoard (None for
    vector data or a set too small to fill them)."""
    if len(data.image_shape) != 3:
        return None
    try:
        images, _ = next(iter(data.make(count, seed=seed)))
    except (ValueError, errors.RunError, tf.errors.OpError):
        return None
    return images.numpy()


def _tf_error_reason(error):
    """The cause of a TensorFlow op error, without its graph traceback and node names."""
    lines = []
    for line in str(getattr(error, "message", error)).splitlines():
        text = line.strip()
        if (not text or line.startswith(" ") or text.startswith(("Graph execution error",
                                                                  "Detected at node", "[["))):
            continue
        lines.append(text.split(" [[")[0])
    return " ".join(lines) or type(error).__name__


def effective_steps_per_execution(requested, start_step, train_steps, intervals):
    """`requested` lowered to divide the run's start, end and every non-zero interval.

    Executions of `k` iterations start at `start_step`; with `k` dividing the start and every
    interval, each iteration where a callback is due ends an execution.
    """
    k = int(requested)
    for value in (start_step, train_steps, *intervals):
        if value:
            k = math.gcd(k, int(value))
    return max(k, 1)


def _train(exp):
    trainer, strategy, spec = exp.trainer, exp.strategy, exp.spec
    seed, evaluator = spec.seed, spec.evaluator

    def dataset_fn(input_context):
        # The stream begins at the batch the run reads next (data.stream): a resumed run reads
        # exactly what the uninterrupted one would have.
        return exp.data.make(exp.local_batch, seed=seed, input_context=input_context,
                             start_step=exp.start_step)

    dataset = strategy.distribute_datasets_from_function(dataset_fn)
    generate = tf.function(trainer.generate)
    checkpointer = callbacks_lib.CheckpointCallback(
        exp.manager, spec.checkpoint_every,
        lambda: trainer.variables + trainer.state_variables())
    evaluation = None
    if evaluator is not None:
        eval_ema = trainer.ema is not None and getattr(evaluator, "use_ema", True)
        evaluation = eval_lib.EvaluationCallback(
            evaluator, spec.eval_every, exp.model_dir,
            tf.function(trainer.generate_ema) if eval_ema else generate, trainer.z_dim,
            trainer.num_classes,
            generator_note=trainer.ema.describe() if eval_ema else None,
            seed=seed, best_checkpoint_fn=_best_checkpoint_fn(exp, evaluator),
            latent_sampler=trainer.latent_sampler, final_step=exp.train_steps,
            global_batch_size=exp.images_per_iteration)
    cbs = [
        callbacks_lib.NonFiniteGuard(exp.manager),
        checkpointer,
        callbacks_lib.SummaryCallback(
            os.path.join(exp.model_dir, "train"), spec.summary_every, generate,
            callbacks_lib.SampleGrid(trainer.z_dim, trainer.num_classes, seed=seed,
                                     class_names=getattr(exp.data, "class_names", None)),
            callbacks_lib.StatusLine(
                os.path.join(exp.model_dir, callbacks_lib.METRICS_JSONL),
                images_per_iteration=exp.images_per_iteration,
                eval_seconds_fn=(None if evaluation is None else
                                 lambda: (evaluation.last_result or {}).get("seconds"))),
            real_images=_first_images(exp.data, seed)),
    ]
    if evaluation is not None:
        cbs.append(evaluation)
    cbs.extend(make(exp) for make in spec.callbacks)
    profiled = profiling.check_profile_steps(spec.profile_steps, spec.train_steps)
    if profiled:
        cbs.append(profiling.ProfileCallback(os.path.join(exp.model_dir, "train"), *profiled))
    steps_per_execution = spec.steps_per_execution
    if steps_per_execution > 1:
        # A callback's `boundaries` (the profiler's) are iterations where executions must end.
        intervals = [i for cb in cbs
                     for i in getattr(cb, "boundaries", [getattr(cb, "every", 0)])]
        k = effective_steps_per_execution(steps_per_execution, exp.start_step, exp.train_steps,
                                          intervals)
        if k != steps_per_execution:
            print(f"run.steps_per_execution = {steps_per_execution} lowered to {k}, so that "
                  f"executions end at iteration {exp.train_steps} and on every checkpoint, "
                  f"summary and evaluation (intervals {sorted(set(i for i in intervals if i))}"
                  f", starting at {exp.start_step}).", flush=True)
        # Only now: the restore may have fallen back to an older checkpoint (an unreadable
        # newest one), which moves the start and so the executions' grid.
        trainer.set_steps_per_execution(k)
    if spec.progress:
        cbs.append(callbacks_lib.StartupCallback())
        cbs.append(callbacks_lib.ProgressCallback(exp.train_steps))
    t0 = time.time()
    try:
        # shuffle=False: the data sources shuffle (seeded) themselves; Keras would only warn.
        # The stop request comes last: a signal stops the run after the iteration's other
        # callbacks (checkpoint, evaluation) have run.
        with callbacks_lib.stop_on_signals() as stop:
            trainer.fit(dataset, epochs=1, steps_per_epoch=exp.train_steps - exp.start_step,
                        callbacks=cbs + [stop], verbose=0, shuffle=False)
    except _LOST_WORKER_ERRORS as e:
        workers = distribute.worker_layout(strategy)[0]
        if workers == 1:
            raise
        raise errors.WorkerLostError(
            f"training stopped during iteration {int(trainer.iteration.numpy())}: a collective "
            f"of the {workers} workers failed ({type(e).__name__}: "
            f"{_tf_error_reason(e)[:300]}). Another worker "
            "died, hung or was stopped: restart every worker with the same command; they "
            "resume together from the newest checkpoint the chief wrote") from e
    except (KeyboardInterrupt, SystemExit):
        # Ctrl-C / SIGTERM are raised at the end of an iteration (callbacks.StopRequest): the
        # state is consistent, so keep the work done.
        checkpointer.save()
        print(f"\nStopped at iteration {int(trainer.iteration.numpy())}; saved "
              f"{exp.manager.latest_checkpoint}. Rerun the same command to resume.", flush=True)
        raise
    done = int(trainer.iteration.numpy()) - exp.start_step
    seconds = time.time() - t0
    print(f"Trained {done} iterations in {seconds:.1f} s "
          f"({1000 * seconds / max(done, 1):.1f} s / 1k iterations).", flush=True)
    return None if evaluation is None else evaluation.last_result
