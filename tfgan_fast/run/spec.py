"""`RunSpec`: everything one training run combines, the one gin root (`run.*` bindings).

Gin configures this frozen dataclass under the name `run` (selector `tfgan_fast.run`), so a gin
file or `--gin_param` writes `run.train_steps = 100`, `run.algorithm = @FastGAN`. `experiment.run`
builds the strategy first (from `run.strategy_fn` and `run.cpu_replicas`), then the spec (which is
when gin builds the data, the evaluator and the other `@X()` references), and passes the spec whole
to the steps of the run. The spec never names an algorithm: every part comes in as a reference.
"""

import copy
import dataclasses

import gin

from tfgan_fast.algorithms import optimizers
from tfgan_fast.runtime import distribute

# Gin's name of the spec and its full selector (`budget.RUN_SELECTOR` rebinds its step counts).
GIN_NAME = "run"
SELECTOR = "tfgan_fast.run"


def _positive(name, value, allow_zero=False):
    ok = isinstance(value, int) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"gin binding {name} = {value!r} must be an integer {bound}")


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """What a run trains, on what, for how long, and what it writes.

    Attributes:
        algorithm: a `GANTrainer` subclass (e.g. `@FastGAN`); called with the nets, `z_dim`,
            `num_classes`, `seed` and `ema`, its other arguments from gin.
        generator, discriminator: network classes (e.g. `@ResNetGenerator`); called with
            `resolution`, `channels` and `num_classes` of `data` (and `z_dim` for G).
        data: a data source instance (e.g. `@QuickstartFashionMNIST()`), see `tfgan_fast.data`.
        train_steps: total iterations; a resumed run stops at the same total.
        batch_size: GLOBAL batch size (split evenly over replicas).
        z_dim: latent size.
        checkpoint_every: iterations between checkpoints (also one at the end).
        summary_every: iterations between TensorBoard scalars / sample grids.
        keep_checkpoints: how many newest checkpoints to keep.
        seed: seeds the weights' initialisation, the trainer's random stream and the data order.
        g_optimizer, d_optimizer: `fn(iteration) -> optimizer` (`@make_optimizer`, scoped with
            `g/` and `d/` for two-timescale set-ups).
        strategy_fn: `fn() -> tf.distribute.Strategy`.
        mixed_precision: `"auto"` (bfloat16 where the hardware runs it natively, else
            float32; see `tfgan_fast.runtime.precision`), None (float32) or a Keras policy name
            such as `"mixed_bfloat16"`: the networks compute in bfloat16 with float32 weights;
            D's outputs, the losses and FastGAN's perturbation stay float32 (about 2x faster on
            CPUs with AMX-BF16).
        jit_compile: XLA for the train step (slower on CPU; try it on GPU).
        steps_per_execution: iterations per call of the traced training function (Keras'
            `steps_per_execution`; `GANTrainer.make_train_function` loops in the graph).
            Callbacks (checkpoints, summaries, evaluation, progress) then run once per
            execution, so small networks (the 2-D MLPs, where Python's per-step work costs
            more than the step) run at graph speed. The run lowers it to the greatest common
            divisor of itself, the start and end iteration and every callback interval, so
            executions always end on the iterations where a checkpoint, summary or evaluation
            is due; the update itself is the same for any value.
        run_eagerly: run the train step op by op, without tracing it (for debugging, and
            for tests on tiny nets, where tracing costs more than the steps).
        export_at_end: write the generator SavedModel to `model_dir/export/<iteration>/` (the
            newest 3 versions are kept; see `tfgan_fast.export.saved_model`).
        progress: print a progress bar.
        evaluator: None, or an `eval.Evaluator` (IS / FID / KID) run every `eval_every`
            iterations and at the end; results go to `DIR/metrics.csv`, TensorBoard
            (`DIR/eval`) and the best-FID checkpoint to `DIR/best/`.
        eval_every: iterations between evaluations (0: only at the end).
        unconditional: build label-free networks (`num_classes = 0`) even when `data` has
            labels, which are then ignored (FARGAN on CIFAR / ImageNet, Tao & Wang 2020).
        callbacks: extra `fn(experiment) -> keras.callbacks.Callback` factories (e.g.
            `[@synthetic_evaluation]`), appended after the built-in ones.
        allow_structural_change: resume even when the data source, a network, the algorithm,
            `z_dim`, `batch_size` or `seed` differ from the recorded config (fine-tuning on new
            data, say); by default such a resume is refused (see `tfgan_fast.run.rundir`).
        cpu_replicas: split the host CPU into this many logical devices and train on them
            with a `MirroredStrategy` (to try multi-replica runs on one CPU; the split must
            happen before TensorFlow initialises, so set it for a fresh process).
        ema: None, or a `tfgan_fast.algorithms.ema.GeneratorEMA` (`@GeneratorEMA()`): keep an
            exponential moving average of G's weights (checkpointed). Evaluations use it unless
            `Evaluator.use_ema = False`, and say which generator they measured.
        export_ema: with `ema`, export the averaged generator (else G itself).
        profile_steps: None, or `(A, B)`: a TensorFlow profiler trace of iterations A..B
            (1-based, inclusive) in `DIR/train/plugins/profile/`, for TensorBoard's Profile
            tab (see `tfgan_fast.perf.profiling`).
        budget_seconds: train for this many seconds: the first iterations are timed once and
            the run's length, intervals and schedules rescaled to fit (`tfgan_fast.run.budget`;
            recorded in `DIR/budget.json`, so a resumed run keeps its length).
        export_formats: with `export_at_end`, also write these formats beside the SavedModel:
            `"onnx"` (`generator.onnx`), `"litert"` or `"tflite"` (`generator.tflite`); see
            `tfgan_fast.export.formats`.

    Bad values raise ValueError naming the binding (`run.batch_size = 0 must be ...`).
    """

    algorithm: object = gin.REQUIRED
    generator: object = gin.REQUIRED
    discriminator: object = gin.REQUIRED
    data: object = gin.REQUIRED
    train_steps: int = gin.REQUIRED
    batch_size: int = 64
    z_dim: int = 128
    checkpoint_every: int = 1000
    summary_every: int = 500
    keep_checkpoints: int = 3
    seed: int = 0
    g_optimizer: object = optimizers.make_optimizer
    d_optimizer: object = optimizers.make_optimizer
    strategy_fn: object = distribute.make_strategy
    mixed_precision: object = "auto"
    jit_compile: bool = False
    steps_per_execution: int = 1
    run_eagerly: bool = False
    export_at_end: bool = True
    progress: bool = True
    evaluator: object = None
    eval_every: int = 0
    unconditional: bool = False
    callbacks: tuple = ()
    allow_structural_change: bool = False
    cpu_replicas: object = None
    ema: object = None
    export_ema: bool = True
    profile_steps: object = None
    budget_seconds: object = None
    export_formats: tuple = ()

    def __post_init__(self):
        for name in ("train_steps", "batch_size", "z_dim", "steps_per_execution"):
            _positive(f"run.{name}", getattr(self, name))
        for name in ("checkpoint_every", "summary_every", "eval_every"):
            _positive(f"run.{name}", getattr(self, name), allow_zero=True)
        _positive("run.keep_checkpoints", self.keep_checkpoints)


gin.configurable(GIN_NAME, module="tfgan_fast")(RunSpec)


def make_strategy(overrides):
    """The run's strategy from `run.strategy_fn` and `run.cpu_replicas`: the caller's
    `overrides` first, then gin's bindings, then the spec's defaults.

    It is built before the spec: gin builds the spec's `@X()` references (the data, the
    evaluator and its classifier, callbacks) when the spec is made; loading a classifier's
    SavedModel starts TensorFlow's runtime, after which `MultiWorkerMirroredStrategy` cannot be
    created. Only these two bindings are resolved here, each alone, not their neighbours.
    """
    bindings = gin.get_bindings(SELECTOR, resolve_references=False)
    defaults = {f.name: f.default for f in dataclasses.fields(RunSpec)}

    def value(name):
        if name in overrides:
            return overrides[name]
        if name in bindings:
            return copy.deepcopy(bindings[name])
        return defaults[name]

    strategy_fn, cpu_replicas = value("strategy_fn"), value("cpu_replicas")
    if cpu_replicas is None:
        return strategy_fn()
    return strategy_fn(devices=distribute.split_cpu(cpu_replicas))
