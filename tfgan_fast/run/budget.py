"""Budget-aware training: a run's length chosen from a time budget, once, and kept.

`run.budget_seconds` (`python -m tfgan_fast.train --budget=30m`) times the first iterations of
the run's own training step, as `--dry_run` does, and sets its length to
`N = budget / (seconds per iteration)`. Every step count of the config is then rescaled by
`N / T0`, with `T0` the length the config was written for (`run.train_steps` as configured):

* the run's length and its intervals (`run.train_steps`, `checkpoint_every`, `summary_every`,
  `eval_every`; an interval of 0 stays 0);
* the schedules' horizons (`LinearDecay.total_steps`, `ExponentialHalving.kappa` and
  `total_steps`) and the EMA's first averaged iteration (`GeneratorEMA.start`), in every gin
  scope;
* a gin macro any of these refers to (`TRAIN_STEPS = 10000`, `LinearDecay.total_steps =
  %TRAIN_STEPS`) is rescaled itself, once.

So a schedule written for 240,000 iterations (`ExponentialHalving.kappa = 80000`, three
halvings) makes its three halvings over the `N` iterations the budget buys, and a linear decay
reaches 0 at the last iteration. `GeneratorEMA.warmup` counts averaged updates, not a fraction
of the run, and is left as it is.

The choice is recorded in `DIR/budget.json` (budget, measured speed, `T0`, `N` and the bindings)
before training, and the bindings land in `DIR/operative_config.gin` like any other: a resumed
run replays the recorded bindings and never times again. The budget covers the training
iterations; evaluations and checkpoints come on top. `tfgan_fast.perf.race` writes the same file
with the speed it measured in its interleaved timing rounds, so a race's runs take their length
the same way.
"""

import json
import math
import os
import re
import tempfile

from tfgan_fast.runtime import errors

BUDGET_FILE = "budget.json"
# Gin's selector of `run` (`spec.RunSpec`), spelled out: this module imports no TensorFlow.
RUN_SELECTOR = "tfgan_fast.run"
# Step-valued parameters rescaled with the run's length, by configurable.
STEP_PARAMETERS = {
    RUN_SELECTOR: ("train_steps", "checkpoint_every", "summary_every",
                                  "eval_every"),
    "tfgan_fast.algorithms.schedules.LinearDecay": ("total_steps",),
    "tfgan_fast.algorithms.schedules.ExponentialHalving": ("kappa", "total_steps"),
    "tfgan_fast.algorithms.ema.GeneratorEMA": ("start",),
}
# A value of 0 stays 0 (an interval that is off); a non-zero one stays >= 1, except the EMA's
# first averaged iteration, which may round to 0.
_MAY_BE_ZERO = {"start"}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*$")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


class BudgetError(errors.RunError, ValueError):
    """A bad budget, or a run directory whose recorded budget differs; one line."""


def parse_duration(text):
    """`"90s"`, `"30m"`, `"1.5h"` or `"1800"` (seconds) -> seconds (> 0).

    Raises:
        BudgetError: naming the bad value.
    """
    m = _DURATION.match(str(text))
    seconds = float(m.group(1)) * _UNITS[m.group(2)] if m else 0.0
    if not m or seconds <= 0:
        raise BudgetError(f"--budget={text}: expected a positive duration such as 90s, 30m or "
                          "1.5h")
    return seconds


def iterations_for(budget_seconds, s_per_it):
    """How many iterations fit in the budget at the measured speed (at least 1); a quotient
    within 1e-9 of a whole number counts as whole (3.0 s at 0.1 s/it is 30, not 29)."""
    return max(1, int(math.floor(budget_seconds / s_per_it * (1 + 1e-9))))


def step_timer(exp, seed=0, start_step=0):
    """`run(n) -> [seconds of each of n iterations]` for a built `Experiment` (its own data).

    The first iteration of the first call includes tracing and the data pipeline's start; the
    callers drop it. The timed iterations change only this process's copy of the model.
    """
    # pylint: disable-next=import-outside-toplevel
    from tfgan_fast.run import callbacks as callbacks_lib
    trainer = exp.trainer
    local = exp.local_batch
    dataset = exp.strategy.distribute_datasets_from_function(
        lambda ctx: exp.data.make(local, seed=seed, input_context=ctx, start_step=start_step))
    times = []
    timer = callbacks_lib.StepTimer(times)

    def run(iterations):
        del times[:]
        trainer.fit(dataset, epochs=1, steps_per_epoch=iterations, callbacks=[timer],
                    verbose=0, shuffle=False)
        return list(times)

    return run


def measure(build_fn, warmup=2, iterations=5):
    """Seconds per iteration of the run gin describes, built by `build_fn(scratch directory)`
    (`experiment.build`) and timed over `iterations` iterations after `warmup` + 1 untimed
    ones."""
    with tempfile.TemporaryDirectory() as scratch:
        run = step_timer(build_fn(scratch))
        run(warmup + 1)
        times = run(iterations)
    return sum(times) / len(times)


# --- the run's length -------------------------------------------------------------------------

def _macro_name(value):
    """The macro a gin value refers to (`%TRAIN_STEPS` -> 'TRAIN_STEPS'), else None."""
    import gin  # pylint: disable=import-outside-toplevel
    if isinstance(value, gin.config.ConfigurableReference) and \
            value.configurable.name == "macro":
        return value.scoped_selector.split("/")[0] if "/" in value.scoped_selector else None
    return None


def _resolve(value, bindings):
    """A literal, or the literal value of the macro `value` names."""
    name = _macro_name(value)
    if name is None:
        return value
    return bindings.get((name, "gin.macro"), {}).get("value")


def _scaled(value, scale, param):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and param == "kappa":
        return value * scale
    if value == 0:
        return 0
    return max(int(round(value * scale)), 0 if param in _MAY_BE_ZERO else 1)


def length_bindings(train_steps):
    """Gin bindings that make the currently parsed config `train_steps` iterations long.

    Every parameter of `STEP_PARAMETERS` bound in any scope, and every macro one of them refers
    to, is rescaled by `train_steps / T0` (`T0`: `run.train_steps` as configured).

    Returns:
        `(T0, [binding strings])`, the last one `run.train_steps = train_steps`.

    Raises:
        BudgetError: `run.train_steps` is unset, or a step parameter names a macro that does not
            hold a number.
    """
    import gin  # pylint: disable=import-outside-toplevel
    config = dict(gin.config._CONFIG)  # pylint: disable=protected-access
    configured = _resolve(config.get(("", RUN_SELECTOR), {}).get("train_steps"),
                          config)
    if isinstance(configured, bool) or not isinstance(configured, int) or configured < 1:
        raise BudgetError(f"a budget needs run.train_steps bound to a positive integer (the "
                          f"length the config is written for), got {configured!r}")
    scale = train_steps / configured
    bindings, macros = [], set()
    for (scope, selector), params in sorted(config.items()):
        for param in STEP_PARAMETERS.get(selector, ()):
            if param not in params:
                continue
            macro = _macro_name(params[param])
            if macro is not None:
                macros.add((macro, param))
                continue
            value = _scaled(params[param], scale, param)
            if value is not None:
                prefix = f"{scope}/" if scope else ""
                bindings.append(f"{prefix}{selector}.{param} = {value!r}")
    for macro, param in sorted(macros):
        value = _scaled(config.get((macro, "gin.macro"), {}).get("value"), scale, param)
        if value is None:
            raise BudgetError(f"a budget rescales the macro {macro} (a step count), which "
                              "does not hold a number")
        binding = f"{macro} = {value!r}"
        if binding not in bindings:
            bindings.append(binding)
    bindings.append(f"{RUN_SELECTOR}.train_steps = {int(train_steps)}")
    return configured, bindings


# --- the record in the run directory ----------------------------------------------------------

def read_record(model_dir):
    """`DIR/budget.json` as a dict, or None."""
    path = os.path.join(model_dir, BUDGET_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_record(model_dir, record):
    """Writes `DIR/budget.json` atomically."""
    os.makedirs(model_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".budget-", dir=model_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, os.path.join(model_dir, BUDGET_FILE))


def choose(model_dir, budget_seconds, measure_fn):
    """The run's length under `budget_seconds`: recorded in `DIR/budget.json`, or timed now.

    A recorded choice is kept (a resumed run never re-times); a fresh one times the step with
    `measure_fn()` (seconds per iteration) and records budget, speed and length.

    Returns:
        The record: `budget_seconds`, `s_per_it`, `train_steps`.

    Raises:
        BudgetError: the directory records another budget, holds checkpoints of a run that
            started without one, or the run has several workers (`TF_CONFIG`), which would
            each time themselves.
    """
    if os.environ.get("TF_CONFIG"):
        raise BudgetError("a budget is chosen by timing this process; with several workers "
                          "(TF_CONFIG is set) bind run.train_steps instead")
    record = read_record(model_dir)
    if record is not None:
        if not math.isclose(record["budget_seconds"], budget_seconds, rel_tol=1e-9):
            raise BudgetError(
                f"{os.path.join(model_dir, BUDGET_FILE)} records a budget of "
                f"{record['budget_seconds']:g} s, not {budget_seconds:g} s: resume with the "
                "same budget (its length is kept), or train in a new --model_dir")
        return record
    if os.path.isdir(os.path.join(model_dir, "checkpoints")) and any(
            n.startswith("ckpt-") for n in os.listdir(os.path.join(model_dir, "checkpoints"))):
        raise BudgetError(f"{model_dir} holds a run that started without a budget: resume it "
                          "without --budget, or train in a new --model_dir")
    s_per_it = measure_fn()
    record = {"budget_seconds": float(budget_seconds), "s_per_it": float(s_per_it),
              "train_steps": iterations_for(budget_seconds, s_per_it)}
    write_record(model_dir, record)
    return record


def apply(model_dir, budget_seconds, measure_fn, log=print):
    """Chooses the run's length (`choose`) and binds it into gin (`length_bindings`).

    The bindings are computed at the first call and recorded; later calls (a resume) replay
    the recorded ones. Prints the iteration count before training. Returns the record, with the
    configured length `configured_steps` and the `bindings` applied.
    """
    import gin  # pylint: disable=import-outside-toplevel
    record = choose(model_dir, budget_seconds, measure_fn)
    if "bindings" not in record:
        # Computed once, from the config the run started with, and replayed verbatim on resume:
        # a resume that edits run.train_steps or a macro cannot move the schedules.
        configured, bindings = length_bindings(record["train_steps"])
        record.update(configured_steps=configured, bindings=bindings)
        write_record(model_dir, record)
    configured = record["configured_steps"]
    with gin.unlock_config():
        gin.parse_config(record["bindings"])
    log(f"Budget {_duration(record['budget_seconds'])} at {record['s_per_it']:.3f} s/it: "
        f"{record['train_steps']:,} iterations (the config's {configured:,}-iteration schedules, "
        f"intervals and EMA start rescaled by {record['train_steps'] / configured:.4g}; "
        f"{os.path.join(model_dir, BUDGET_FILE)}).")
    return record


def _duration(seconds):
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"
