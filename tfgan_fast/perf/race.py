"""A fair time-to-quality race: configs tuned at equal effort, raced over seeds, FID against time.

The FastGAN paper's headline (Zhong et al. 2020, Fig. 1, Table 2) is that FastGAN reaches a better
FID than SNGAN and RobGAN in less wall-clock time. A race measures that on this machine, in four
phases, every one resumable (docs/race.md):

1. **Speed.** Every config's training step is built and timed in this process, in interleaved
   rounds (round r times every config once, so a change of machine load hits them alike); the
   speed of a config is the mean over its timed iterations, seconds per iteration (`s/it`).
2. **Tuning** (with a grid). Every config gets the same grid: each learning rate of `lrs` under
   each schedule shape of `schedules` (`SCHEDULES`), one run per point at the short tuning
   budget (`RACE_DIR/tuning/<name>/<point>/`, seed 0, its own number of evaluations). A
   config's best point is the one with the lowest *score*, the mean FID over its last `last`
   evaluations (one evaluation is a noisy statistic). `tuning.csv` and `tuning.md` hold every
   point's score; a failing point is recorded with its error and the others still run.
3. **The race.** Each config, with its chosen point, trains for `budget / (s/it)` iterations
   once per seed (`run.seed` = 0 .. seeds - 1: the initialisation, the data order and the
   random streams differ) in `RACE_DIR/<name>/seed_<s>/`, evaluated at `num_evals` evenly spaced
   iterations.
4. **Results.** An evaluation's *equivalent wall-clock* is `iteration x s/it`: what the run would
   have taken on the quiet machine the speeds were measured on. `race.csv` holds every
   evaluation; `race.md` each config's *final* FID, class accuracy, precision and recall as
   mean ± sd over seeds, where a seed's final figure is the mean over its last `last`
   evaluations, and the time to reach the target FID (`target_fid`, or the best baseline's
   final FID) with its spread and how many seeds reached it; `race.png` FID against equivalent
   wall-clock (and iterations), each config's mean over seeds with a band of ± 1 sd. Every
   finished run gets TensorBoard HParams summaries in `<run dir>/hparams` (config, phase, seed,
   learning rate, schedule; final metrics): `tensorboard --logdir RACE_DIR` compares them.

Each run is an ordinary `python -m tfgan_fast.train` process whose length the race chose: it
writes `<run dir>/budget.json` (`tfgan_fast.run.budget`) with its measured speed and the bindings
that rescale the config's length, intervals and schedules, and the run replays them, as
`--budget` does, without timing again.

State lives in `RACE_DIR/race.json`, written atomically after every change: a second invocation
with the same arguments skips the timing, finished runs and a made choice, resumes the
interrupted run from its newest checkpoint and retries failed ones.
"""

import csv
import dataclasses
import json
import math
import os
import re
import subprocess
import sys
import tempfile

from tfgan_fast.run import budget as budget_lib

STATE_FILE = "race.json"
CSV_FILE = "race.csv"
PLOT_FILE = "race.png"
PR_PLOT_FILE = "race_precision_recall.png"
TABLE_FILE = "race.md"
TUNING_CSV_FILE = "tuning.csv"
TUNING_TABLE_FILE = "tuning.md"
TUNING_PLOT_FILE = "tuning.png"
TUNING_DIR = "tuning"
HPARAMS_DIR = "hparams"
LOG_FILE = "train.log"
CSV_COLUMNS = ("config", "seed", "step", "equivalent_seconds", "fid", "is_mean", "is_std", "kid",
               "class_acc", "precision", "recall", "density", "coverage", "s_per_it",
               "classifier", "convention")
TUNING_COLUMNS = ("config", "point", "schedule", "lr", "status", "iterations", "evaluations",
                  "score", "final_fid", "chosen", "error")
FINAL_METRICS = ("fid", "class_acc", "precision", "recall")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_PROGRESS = re.compile(r"\]\s+(\d+)/(\d+)\s+\|")
# The line of a traceback that says what went wrong (`DataError: ...`, `ValueError: ...`).
_ERROR = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit)): ")
_HALVING = re.compile(r"^halving([0-9]*\.?[0-9]+)$")
_RATE_SELECTORS = ("make_optimizer", "make_rmsprop", "make_sgd", "LinearDecay",
                   "ExponentialHalving")
DEFAULT_LAST = 3  # evaluations averaged into a run's score and final figures


class RaceError(ValueError):
    """Bad race arguments or a race directory started with other arguments; one line."""


@dataclasses.dataclass
class RaceConfig:
    """One contestant: a name (its directory under the race), gin files and extra bindings."""
    name: str
    gin_files: list
    gin_params: list = dataclasses.field(default_factory=list)


def parse_config(spec, gin_params=()):
    """`"NAME=FILE[+FILE...][+BINDING...]"` -> `RaceConfig` (files must exist).

    A `+`-separated piece holding `=` is a gin binding of this config alone (`alpha0=
    gin/a.gin+FastGANLoss.alpha_gc=0.0`), applied after `gin_params`, the race-wide bindings:
    a sweep over one hyper-parameter needs no gin file per value.

    Raises:
        RaceError: naming the bad spec.
    """
    if "=" not in spec:
        raise RaceError(f"--config={spec!r}: expected NAME=GIN_FILE[+GIN_FILE...][+BINDING...]")
    name, rest = spec.split("=", 1)
    name = name.strip()
    if not _NAME.match(name) or name == TUNING_DIR:
        raise RaceError(f"--config={spec!r}: the name {name!r} must be letters, digits, "
                        f"'_', '-' or '.' (it names a directory), and not {TUNING_DIR!r}")
    pieces = [p.strip() for p in rest.split("+") if p.strip()]
    paths = [p for p in pieces if "=" not in p]
    bindings = [p for p in pieces if "=" in p]
    if not paths:
        raise RaceError(f"--config={spec!r}: no gin file")
    for path in paths:
        if not os.path.isfile(path):
            raise RaceError(f"--config={spec!r}: gin file {path!r} does not exist")
    return RaceConfig(name, [os.path.abspath(p) for p in paths], list(gin_params) + bindings)


def check_configs(configs, baselines=()):
    """Rejects an empty race, repeated names and baselines that are not contestants."""
    if not configs:
        raise RaceError("name at least one --config=NAME=GIN_FILE")
    names = [c.name for c in configs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise RaceError(f"--config names must be unique, repeated: {', '.join(repeated)}")
    unknown = [b for b in baselines if b not in names]
    if unknown:
        raise RaceError(f"--baselines={','.join(baselines)}: {', '.join(unknown)} is not a "
                        f"--config name (have {', '.join(names)})")


iterations_for = budget_lib.iterations_for


def eval_every_for(iterations, num_evals):
    """Evaluation interval giving at least `num_evals` evenly spaced evaluations (the last at
    the final iteration)."""
    return max(1, iterations // num_evals)


# --- the tuning grid ----------------------------------------------------------------------------

SCHEDULES = {
    "own": "the config's own schedule shape, its initial rate replaced",
    "constant": "a constant rate",
    "halvingH": "the rate halved H times over the run (ExponentialHalving)",
    "linear": "the rate decayed linearly to 0 at the last iteration (LinearDecay)",
}


def check_schedule(name):
    """Rejects a schedule shape `SCHEDULES` does not know, naming it."""
    if name in ("own", "constant", "linear") or _HALVING.match(name):
        return name
    raise RaceError(f"--tune_schedules: unknown schedule {name!r} (have own, constant, linear, "
                    "halvingH such as halving2)")


def schedule_bindings(shape, lr, configured_steps):
    """Gin bindings that give a config the learning rate `lr` under schedule `shape` (`own`
    replaces the initial rate of whichever optimiser factory and schedule the config uses; the
    other shapes set `make_optimizer`'s schedule, Adam-style configs); a horizon is written for the config's own length
    `configured_steps` and rescaled with it when the run's length is chosen."""
    if shape == "own":
        return [f"ExponentialHalving.initial_learning_rate = {lr!r}",
                f"LinearDecay.initial_learning_rate = {lr!r}",
                f"make_optimizer.learning_rate = {lr!r}",
                f"make_rmsprop.learning_rate = {lr!r}", f"make_sgd.learning_rate = {lr!r}"]
    if shape == "constant":
        return ["make_optimizer.schedule = None", f"make_optimizer.learning_rate = {lr!r}"]
    if shape == "linear":
        return ["make_optimizer.schedule = @LinearDecay()",
                f"LinearDecay.initial_learning_rate = {lr!r}",
                f"LinearDecay.total_steps = {configured_steps}"]
    halvings = float(_HALVING.match(shape).group(1))
    return ["make_optimizer.schedule = @ExponentialHalving()",
            f"ExponentialHalving.initial_learning_rate = {lr!r}",
            f"ExponentialHalving.total_steps = {configured_steps}",
            f"ExponentialHalving.halvings = {halvings!r}"]


def point_name(shape, lr):
    """A grid point's directory name: `halving2_lr0.001`."""
    return f"{shape}_lr{lr:g}"


def score(rows, last):
    """The tuning rule: the mean FID over a run's last `last` evaluations (None without one)."""
    fids = [r["fid"] for r in sorted(rows, key=lambda r: r["step"])
            if r.get("fid") is not None and math.isfinite(r["fid"])]
    return None if not fids else sum(fids[-last:]) / len(fids[-last:])


def choose_point(grid):
    """The grid point with the lowest score among finished ones (ties: the first in grid
    order), or None when none finished with a score."""
    best = None
    for name, point in grid.items():
        if point.get("status") == "done" and point.get("score") is not None and (
                best is None or point["score"] < grid[best]["score"]):
            best = name
    return best


# --- state ------------------------------------------------------------------------------------

def _write_json(path, obj):
    fd, tmp = tempfile.mkstemp(prefix=".race-", dir=os.path.dirname(path))
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)  # insertion order: a grid's order is its tie-break
        f.write("\n")
    os.replace(tmp, path)


def load_state(race_dir, budget_seconds, num_evals, configs, iterations=None, seeds=1,
               tuning=None, last=DEFAULT_LAST):
    """Reads `race.json` (or starts one) and checks it was made with the same arguments.

    Args:
        race_dir: the race's directory.
        budget_seconds: equivalent seconds per race run (unused with `iterations`).
        num_evals: evaluations per run.
        configs: `RaceConfig`s (a new name joins the race).
        iterations: train every race run for this many iterations instead of budget / (s/it).
        seeds: race runs per config (seeds 0 .. seeds - 1).
        tuning: None, or `{"lrs": [...], "schedules": [...], "budget_seconds": s,
            "num_evals": evaluations per tuning run (None: num_evals)}`.
        last: evaluations averaged into a run's score (tuning) and final figures (race).

    Raises:
        RaceError: the directory holds a race with other arguments, or another definition of
            a config of the same name.
    """
    path = os.path.join(race_dir, STATE_FILE)
    fresh = {"budget_seconds": budget_seconds, "num_evals": num_evals, "iterations": iterations,
             "seeds": seeds, "tuning": tuning, "last": last, "configs": {}}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    else:
        state = fresh
    for key in ("budget_seconds", "num_evals", "iterations", "seeds", "tuning", "last"):
        if state.get(key) != fresh[key]:
            raise RaceError(f"{path} is a race with {key} = {state.get(key)}, not "
                            f"{fresh[key]}: rerun with the arguments it was started with to "
                            "continue it, or use another --race_dir")
    for c in configs:
        old = state["configs"].get(c.name)
        if old is None:
            state["configs"][c.name] = {"gin_files": c.gin_files, "gin_params": c.gin_params,
                                        "runs": {}}
        elif old["gin_files"] != c.gin_files or old["gin_params"] != c.gin_params:
            raise RaceError(f"{path}: config {c.name!r} was started with gin files "
                            f"{old['gin_files']} and bindings {old['gin_params']}; name the "
                            "new one differently or use another --race_dir")
    return state


def save_state(race_dir, state):
    _write_json(os.path.join(race_dir, STATE_FILE), state)


# --- speed ------------------------------------------------------------------------------------

def _build_for_timing(config):
    """`(timer, configured length)` of `config` built in this process (see
    `budget.step_timer`)."""
    from tfgan_fast.run import config as config_lib  # pylint: disable=import-outside-toplevel
    from tfgan_fast.run import experiment  # pylint: disable=import-outside-toplevel

    config_lib.parse(config.gin_files, config.gin_params + ["run.evaluator = None"])
    configured = budget_lib.length_bindings(1)[0]
    with tempfile.TemporaryDirectory() as model_dir:
        exp = experiment.build(model_dir)
    return budget_lib.step_timer(exp), configured


def measure_speeds(configs, rounds=3, iterations=5, warmup=2, log=print):
    """Seconds per iteration of each config, timed in interleaved rounds in this process.

    Args:
        configs: `RaceConfig`s.
        rounds: timing rounds; each times every config for `iterations` iterations.
        iterations: timed iterations per config and round.
        warmup: untimed iterations per config, in a round before the timed ones (tracing).
        log: `fn(str)` for progress lines.

    Returns:
        `{name: {"s_per_it", "s_per_it_std" (over rounds), "rounds": [mean per round],
        "load_average", "configured_steps"}}`, or `{name: {"error": "..."}}` for a config that
        could not be built or run.
    """
    runners, results, configured = {}, {}, {}
    for c in configs:
        try:
            log(f"race: building {c.name} for timing")
            runners[c.name], configured[c.name] = _build_for_timing(c)
        except Exception as e:  # pylint: disable=broad-except  # recorded, the race goes on
            results[c.name] = {"error": _one_line(e)}
            log(f"race: {c.name} failed before timing: {results[c.name]['error']}")
    per_round = {name: [] for name in runners}
    loads = []
    # Round 0 is the untimed warm-up, after every build: warmed right after its own build, each
    # config but the last ran its first timed round 1.8x-3.9x slower than its others.
    for r in range(rounds + 1):
        for name, run in runners.items():
            if name in results:
                continue
            try:
                times = run(iterations if r else warmup + 1)
            except Exception as e:  # pylint: disable=broad-except
                results[name] = {"error": _one_line(e)}
                log(f"race: {name} failed {'while' if r else 'before'} timing: "
                    f"{results[name]['error']}")
                continue
            if r:
                per_round[name].append(sum(times) / len(times))
                loads.append(os.getloadavg()[0])
        if r:
            log(f"race: timing round {r}/{rounds}: " + ", ".join(
                f"{n} {v[-1]:.3f} s/it" for n, v in per_round.items() if v and n not in results))
    for name, values in per_round.items():
        if name in results:
            continue
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        results[name] = {"s_per_it": mean, "s_per_it_std": std, "rounds": values,
                         "load_average": max(loads) if loads else None,
                         "configured_steps": configured[name]}
    return results


def _one_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:500]


# --- the runs -----------------------------------------------------------------------------------

@dataclasses.dataclass
class Job:
    """One training run of the race: a tuning point or a seed of a config."""
    phase: str          # "tuning" or "race"
    config: str
    key: str            # the point's name, or the seed as a string
    model_dir: str
    budget_seconds: float
    iterations: int
    eval_every: int
    seed: int
    bindings: list      # the point's gin bindings (after the config's own), and run.seed
    hparams: dict       # what TensorBoard's HParams dashboard shows of it


def _record_of(state, job):
    c = state["configs"][job.config]
    return c["grid"][job.key] if job.phase == "tuning" else c["runs"].setdefault(job.key, {})


def grid_of(state, name):
    """The tuning grid of config `name` (`{point: {...}}`), made on first use."""
    c, tuning = state["configs"][name], state["tuning"]
    if "grid" not in c:
        c["grid"] = {}
        for shape in tuning["schedules"]:
            for lr in tuning["lrs"]:
                c["grid"][point_name(shape, lr)] = {
                    "schedule": shape, "lr": lr, "status": "pending",
                    "bindings": schedule_bindings(shape, lr, c["configured_steps"])}
    return c["grid"]


def _job(state, race_dir, phase, name, key, bindings, hparams, seed, budget_seconds,
         iterations=None):
    c = state["configs"][name]
    if iterations is None:
        iterations = iterations_for(budget_seconds, c["s_per_it"])
    else:
        budget_seconds = iterations * c["s_per_it"]
    model_dir = (os.path.join(race_dir, TUNING_DIR, name, key) if phase == "tuning"
                 else os.path.join(race_dir, name, f"seed_{key}"))
    num_evals = (state["tuning"].get("num_evals") or state["num_evals"]
                 if phase == "tuning" else state["num_evals"])
    return Job(phase, name, key, model_dir, budget_seconds, iterations,
               eval_every_for(iterations, num_evals), seed,
               list(bindings) + [f"run.seed = {seed}"],
               dict(hparams, config=name, phase=phase, seed=seed))


def tuning_jobs(state, race_dir, names):
    """The tuning runs of the timed configs in `names` that have not chosen yet."""
    jobs = []
    if not state.get("tuning"):
        return jobs
    for name in names:
        c = state["configs"][name]
        if "s_per_it" not in c or c.get("chosen"):
            continue
        for key, point in grid_of(state, name).items():
            jobs.append(_job(state, race_dir, "tuning", name, key, point["bindings"],
                             {"lr": point["lr"], "schedule": point["schedule"]}, 0,
                             state["tuning"]["budget_seconds"]))
    return jobs


def race_jobs(state, race_dir, names):
    """The race runs (one per seed) of the timed configs in `names` that are ready: tuned, or
    raced as they are when there is no grid."""
    jobs = []
    for name in names:
        c = state["configs"][name]
        if "s_per_it" not in c or (state.get("tuning") and not c.get("chosen")):
            continue
        bindings, hparams = [], {"schedule": "config", "lr": None}
        if c.get("chosen"):
            point = c["grid"][c["chosen"]]
            bindings = point["bindings"]
            hparams = {"lr": point["lr"], "schedule": point["schedule"]}
        for seed in range(state["seeds"]):
            jobs.append(_job(state, race_dir, "race", name, str(seed), bindings, hparams, seed,
                             state["budget_seconds"], state.get("iterations")))
    return jobs


def train_command(config, job):
    """The `python -m tfgan_fast.train` command of one run; its length comes from the budget
    record `prepare_run` writes into its directory."""
    cmd = [sys.executable, "-m", "tfgan_fast.train", f"--model_dir={job.model_dir}"]
    cmd += [f"--gin_file={f}" for f in config["gin_files"]]
    params = list(config["gin_params"]) + job.bindings + [
        f"run.budget_seconds = {job.budget_seconds!r}"]
    cmd += [f"--gin_param={p}" for p in params]
    return cmd


def prepare_run(config, job, s_per_it):
    """Writes `<run dir>/budget.json` (once): the race's speed, the run's length and the
    bindings that rescale the config to it, with evaluations and checkpoints every
    `job.eval_every` iterations. Parses the config's gin in this process."""
    if budget_lib.read_record(job.model_dir) is not None:
        return
    from tfgan_fast.run import config as config_lib  # pylint: disable=import-outside-toplevel
    config_lib.parse(config["gin_files"], list(config["gin_params"]) + job.bindings)
    if job.hparams.get("lr") is not None:
        _check_unscoped_rates(job.config)
    configured, bindings = budget_lib.length_bindings(job.iterations)
    budget_lib.write_record(job.model_dir, {
        "budget_seconds": job.budget_seconds, "s_per_it": s_per_it,
        "train_steps": job.iterations, "configured_steps": configured, "timed_by": "race",
        "bindings": bindings + [f"run.eval_every = {job.eval_every}",
                                f"run.checkpoint_every = {job.eval_every}"]})


def _check_unscoped_rates(name):
    """Refuses to tune a config whose rates are set in a gin scope (`g/make_optimizer.
    learning_rate`): the grid's unscoped bindings would not reach them."""
    import gin  # pylint: disable=import-outside-toplevel
    bound = gin.config._CONFIG  # pylint: disable=protected-access
    for (scope, selector), params in bound.items():
        if scope and selector.rsplit(".", 1)[-1] in _RATE_SELECTORS and (
                {"learning_rate", "initial_learning_rate", "schedule"} & set(params)):
            raise RaceError(f"config {name!r} sets its learning rate in the gin scope "
                            f"{scope!r} ({selector.rsplit('.', 1)[-1]}): the tuning grid "
                            "cannot tune it; race it without --tune_lrs")


# --- training processes ---------------------------------------------------------------------

def run_training(cmd, log_path, on_progress=None):
    """Runs one training process, its output appended to `log_path`.

    Returns:
        `(exit code, what went wrong)`: the last `SomeError: message` line of the output, else
        its last line that is not a progress bar.
    """
    env = dict(os.environ)
    last, error = "", ""
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                text=True, bufsize=1)
        try:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                m = _PROGRESS.search(line)
                if m:
                    if on_progress is not None:
                        on_progress(int(m.group(1)), int(m.group(2)))
                elif line.strip():
                    last = line.strip()
                    if _ERROR.match(last):
                        error = last
            code = proc.wait()
        except BaseException:
            # Ctrl-C or SIGTERM of the race: the run saves its iteration and stops.
            proc.terminate()
            proc.wait()
            raise
    return code, (error or last)[:500]




def execute(race_dir, state, names, runner=None, log=print, progress=None):
    """Trains every pending run: the tuning grids, the choices, then the seeds of the race.

    A run that finished is skipped, an interrupted one resumes, a failed one is retried; a
    failure is recorded with its error and the others still run. A config chooses its point
    once every point of its grid has been tried in this or an earlier invocation.

    Args:
        race_dir: the race's directory.
        state: `load_state`'s dict, timed (saved after every change).
        names: the configs of this invocation.
        runner: `fn(cmd, log_path, on_progress) -> (exit code, what went wrong)`
            (`run_training`; tests inject their own).
        log: `fn(str)` for progress lines.
        progress: `fn(job) -> on_progress` for a progress bar, or None.
    """
    runner = runner or run_training
    for phase in ("tuning", "race"):
        jobs = (tuning_jobs if phase == "tuning" else race_jobs)(state, race_dir, names)
        for i, job in enumerate(jobs):
            record = _record_of(state, job)
            if record.get("status") == "done":
                continue
            c = state["configs"][job.config]
            done = final_step(job.model_dir)
            log(f"race: {phase} [{i + 1}/{len(jobs)}] {job.config} {_job_label(job)}: "
                f"{job.iterations} iterations at {c['s_per_it']:.3f} s/it (= "
                f"{job.iterations * c['s_per_it']:.0f} s), evaluated every {job.eval_every}"
                + (f", resuming at {done}" if done else ""))
            record["status"] = "running"
            save_state(race_dir, state)
            try:
                prepare_run(c, job, c["s_per_it"])
                code, last = runner(train_command(c, job),
                                    os.path.join(job.model_dir, LOG_FILE),
                                    progress(job) if progress else None)
            except Exception as e:  # pylint: disable=broad-except  # recorded, the race goes on
                code, last = None, _one_line(e)
            rows = metrics(job.model_dir)
            if code == 0:
                record["status"] = "done"
                record.pop("error", None)
                write_hparams(job, rows, state["last"])
            else:
                record.update(status="failed",
                              error=last if code is None else f"exit {code}: {last}")
                log(f"race: {job.config} {_job_label(job)} failed ({record['error']}); the "
                    "race goes on")
            if job.phase == "tuning":
                record["score"] = score(rows, state["last"])
                record["iterations"] = job.iterations
            save_state(race_dir, state)
        if phase == "tuning":
            for name in names:
                _choose(state, name, log)
            save_state(race_dir, state)


def _choose(state, name, log):
    c = state["configs"][name]
    if not state.get("tuning") or "grid" not in c or c.get("chosen"):
        return
    grid = c["grid"]
    if any(p.get("status") not in ("done", "failed") for p in grid.values()):
        return
    c["chosen"] = choose_point(grid)
    if c["chosen"] is None:
        c["error"] = "every tuning point failed"
        log(f"race: {name}: every tuning point failed; it is not raced")
        return
    c.pop("error", None)
    failed = [k for k, p in grid.items() if p["status"] == "failed"]
    log(f"race: {name} chose {c['chosen']} (score {grid[c['chosen']]['score']:.2f}, the mean "
        f"FID over the last {state['last']} evaluations)"
        + (f"; failed points: {', '.join(failed)}" if failed else ""))


def _job_label(job):
    return job.key if job.phase == "tuning" else f"seed {job.key}"


def metrics(model_dir):
    """The rows of a run's `metrics.csv` (empty before its first evaluation)."""
    from tfgan_fast.eval import callback  # pylint: disable=import-outside-toplevel
    return callback.read_metrics(os.path.join(model_dir, callback.METRICS_FILENAME))


def final_step(model_dir):
    """The newest checkpoint's iteration of a run directory (0 if none)."""
    path = os.path.join(model_dir, "checkpoints", "checkpoint")
    if not os.path.isfile(path):
        return 0
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    return int(latest.rsplit("-", 1)[-1]) if latest else 0


# --- results ------------------------------------------------------------------------------------

def collect(race_dir, state):
    """Every evaluation of every race run as rows of `CSV_COLUMNS` (equivalent seconds)."""
    rows = []
    for name, c in state["configs"].items():
        if "s_per_it" not in c:
            continue
        for seed in sorted(c.get("runs", {}), key=int):
            for r in metrics(os.path.join(race_dir, name, f"seed_{seed}")):
                rows.append({"config": name, "seed": int(seed), "step": r["step"],
                             "equivalent_seconds": r["step"] * c["s_per_it"],
                             "fid": r["fid"], "is_mean": r["is_mean"], "is_std": r["is_std"],
                             "kid": r["kid"], "class_acc": r.get("class_acc"),
                             "precision": r.get("precision"), "recall": r.get("recall"),
                             "density": r.get("density"), "coverage": r.get("coverage"),
                             "s_per_it": c["s_per_it"], "classifier": r["classifier"],
                             "convention": r.get("convention")})
    return rows


def _write_csv(path, columns, rows):
    fd, tmp = tempfile.mkstemp(prefix=".race-", dir=os.path.dirname(path))
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if r.get(k) is None else r[k]) for k in columns})
    os.replace(tmp, path)


def write_csv(path, rows):
    _write_csv(path, CSV_COLUMNS, rows)


def mean_sd(values):
    """`(mean, sample sd)` of the non-None values (sd None for fewer than 2; (None, None) for
    none)."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def final_metrics(rows, last):
    """A run's robust final figures: each of `FINAL_METRICS` averaged over its last `last`
    evaluations (a metric missing at some of them averages the others)."""
    rows = sorted(rows, key=lambda r: r["step"])[-last:]
    return {k: mean_sd([r.get(k) for r in rows])[0] for k in FINAL_METRICS}


def summarise(rows, state, baselines=(), target_fid=None):
    """One dict per config: speed, iterations, seeds, and over seeds the mean and sd of the
    final metrics (`final_metrics`) and of the time to the target FID.

    The target is `target_fid`, else the lowest mean final FID among `baselines`; a seed's
    time to it is its first crossing (`time_to_reach`).

    Returns:
        `(summaries, target FID or None, what set it or None)`.
    """
    last = state.get("last", DEFAULT_LAST)
    runs = {}
    for r in sorted(rows, key=lambda r: (r["config"], r["seed"], r["step"])):
        runs.setdefault(r["config"], {}).setdefault(r["seed"], []).append(r)
    finals = {name: {seed: final_metrics(rs, last) for seed, rs in seeds.items()}
              for name, seeds in runs.items()}
    target, target_name = target_fid, ("--target_fid" if target_fid is not None else None)
    if target is None:
        for b in baselines:
            fid = mean_sd([f["fid"] for f in finals.get(b, {}).values()])[0]
            if fid is not None and (target is None or fid < target):
                target, target_name = fid, f"{b}'s final"
    summaries = []
    for name, c in state["configs"].items():
        seeds = runs.get(name, {})
        statuses = [r.get("status") for r in c.get("runs", {}).values()]
        s = {"config": name, "s_per_it": c.get("s_per_it"), "iterations": None,
             "chosen": c.get("chosen"), "seeds": len(seeds), "seeds_done":
             statuses.count("done"), "seeds_total": state.get("seeds", 1),
             "errors": sorted({r["error"] for r in c.get("runs", {}).values()
                               if r.get("status") == "failed" and r.get("error")}
                              | ({c["error"]} if c.get("error") else set()))}
        if seeds:
            s["iterations"] = max(rs[-1]["step"] for rs in seeds.values())
            s["equivalent_seconds"] = s["iterations"] * c["s_per_it"]
            for k in FINAL_METRICS:
                s[k] = mean_sd([finals[name][seed][k] for seed in seeds])
            s["best_fid"] = mean_sd([min((r["fid"] for r in rs if r["fid"] is not None),
                                         default=None) for rs in seeds.values()])
            if target is not None:
                times = [time_to_reach([(r["equivalent_seconds"], r["fid"]) for r in rs],
                                       target) for rs in seeds.values()]
                s["time_to_target"] = mean_sd(times)
                s["reached"] = sum(t is not None for t in times)
        summaries.append(s)
    return summaries, target, target_name


def _minutes(seconds):
    if seconds is None:
        return "–"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _pm(pair, fmt):
    mean, sd = pair if pair else (None, None)
    if mean is None:
        return "–"
    return fmt(mean) + ("" if sd is None else f" ± {fmt(sd)}")


def markdown_table(summaries, target, target_name, classifier_name=None, last=DEFAULT_LAST):
    """The race's result table (GitHub markdown): mean ± sd over seeds of each final figure."""
    q = (lambda m: f"{m} ({classifier_name})") if classifier_name else (lambda m: m)
    head = ["config", "tuned point", "s/it", "iterations", "equivalent time", "seeds",
            q("final FID"), "best FID", "class accuracy", "precision", "recall"]
    if target is not None:
        head.append(f"time to FID {target:.2f} ({target_name})")
    head.append("note")
    lines = [f"Final: the mean over each seed's last {last} evaluations; then mean ± sd over "
             "seeds (sd needs 2 seeds). Times are equivalent wall-clock (iterations x s/it).",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summaries:
        speed = "–" if s.get("s_per_it") is None else f"{s['s_per_it']:.3f}"
        note = "; ".join(s["errors"]).replace("|", "/")
        if not s["seeds"]:
            cells = [s["config"], s.get("chosen") or "–", speed] + ["–"] * (len(head) - 4)
            lines.append("| " + " | ".join(cells + [note or "not run"]) + " |")
            continue
        cells = [s["config"], s.get("chosen") or "–", speed, f"{s['iterations']}",
                 _minutes(s["equivalent_seconds"]),
                 f"{s['seeds_done']}/{s['seeds_total']}",
                 _pm(s["fid"], lambda v: f"{v:.2f}"), _pm(s["best_fid"], lambda v: f"{v:.2f}"),
                 _pm(s["class_acc"], lambda v: f"{100 * v:.1f}%"),
                 _pm(s["precision"], lambda v: f"{v:.3f}"),
                 _pm(s["recall"], lambda v: f"{v:.3f}")]
        if target is not None:
            reached = s.get("reached", 0)
            if reached == 0:
                cell = "not reached"
            else:
                cell = _pm(s["time_to_target"], _minutes_value(s["time_to_target"][0]))
                if reached < s["seeds"]:
                    cell += f" ({reached} of {s['seeds']} seeds; the others never)"
            cells.append(cell)
        if s["seeds_done"] < s["seeds_total"] and not note:
            note = f"{s['seeds_done']} of {s['seeds_total']} seeds finished"
        cells.append(note)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _minutes_value(reference):
    """A formatter in the unit `_minutes` would pick for `reference` seconds."""
    if reference is not None and reference >= 120:
        return lambda v: f"{v / 60:.1f} min"
    return lambda v: f"{v:.1f} s"


def tuning_rows(state):
    """One row of `TUNING_COLUMNS` per grid point of every config."""
    rows = []
    for name, c in state["configs"].items():
        for key, p in c.get("grid", {}).items():
            rows.append({"config": name, "point": key, "schedule": p["schedule"],
                         "lr": p["lr"], "status": p.get("status"),
                         "iterations": p.get("iterations"), "score": p.get("score"),
                         "chosen": key == c.get("chosen"), "error": p.get("error")})
    return rows


def tuning_table(state):
    """The tuning grid as markdown: every point's score, the chosen one in bold."""
    rows = tuning_rows(state)
    if not rows:
        return ""
    last = state.get("last", DEFAULT_LAST)
    lines = [f"Tuning at {_minutes(state['tuning']['budget_seconds'])} equivalent per point, "
             f"seed 0; score: the mean FID over the last {last} evaluations (lower is better).",
             "", "| config | schedule | learning rate | iterations | score | note |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        value = "–" if r["score"] is None else f"{r['score']:.2f}"
        if r["chosen"]:
            value = f"**{value}** (chosen)"
        note = r["error"] or ("" if r["status"] == "done" else r["status"])
        lines.append(f"| {r['config']} | {r['schedule']} | {r['lr']:g} | "
                     f"{r['iterations'] or '–'} | {value} | {(note or '').replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def tuning_curves(state):
    """`{config: {schedule: [(lr, score), ...] sorted by lr}}` of the finished grid points with a
    score, and `{config: (lr, score)}` of each config's chosen point: what `plot_tuning` draws."""
    curves, chosen = {}, {}
    for r in tuning_rows(state):
        if r["status"] != "done" or r["score"] is None:
            continue
        curves.setdefault(r["config"], {}).setdefault(r["schedule"], []).append(
            (r["lr"], r["score"]))
        if r["chosen"]:
            chosen[r["config"]] = (r["lr"], r["score"])
    for by_schedule in curves.values():
        for points in by_schedule.values():
            points.sort()
    return curves, chosen


def plot_tuning(state, path, title=None):
    """The tuning grid as a figure: each config's score against the learning rate (log axis),
    one line per schedule shape, the chosen point ringed (matplotlib, PNG). None when no point
    has a score."""
    curves, chosen = tuning_curves(state)
    if not curves:
        return None
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    import matplotlib.ticker  # pylint: disable=import-outside-toplevel

    fig, ax = plt.subplots(figsize=(7.5, 4.4), dpi=100)
    styles = ["-", "--", ":", "-."]
    shapes = sorted({shape for c in curves.values() for shape in c})
    for i, (name, by_schedule) in enumerate(curves.items()):
        color = f"C{i % 10}"
        for shape, points in by_schedule.items():
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3,
                    color=color, linestyle=styles[shapes.index(shape) % len(styles)],
                    label=f"{name}, {shape}")
        if name in chosen:
            ax.plot(*chosen[name], marker="o", markersize=11, markerfacecolor="none",
                    markeredgecolor=color, linestyle="none")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.set_xticks(sorted({p[0] for c in curves.values() for ps in c.values() for p in ps}))
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("learning rate (G and D)")
    last = state.get("last", DEFAULT_LAST)
    ax.set_ylabel(f"score: mean FID over the last {last} evaluations")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    budget = state["tuning"]["budget_seconds"]
    ax.set_title(title or f"tuning at {_minutes(budget)} equivalent per point (ringed: chosen)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_hparams(job, rows, last):
    """TensorBoard HParams summaries of a finished run in `<run dir>/hparams`: its config,
    phase, seed, learning rate and schedule, and its final metrics (`final_metrics`) as
    `final/<metric>` at its last iteration."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tensorboard.plugins.hparams import api as hp  # pylint: disable=import-outside-toplevel
    hparams = {k: v for k, v in job.hparams.items() if v is not None}
    finals = final_metrics(rows, last) if rows else {}
    step = max((r["step"] for r in rows), default=job.iterations)
    writer = tf.summary.create_file_writer(os.path.join(job.model_dir, HPARAMS_DIR))
    with writer.as_default():
        hp.hparams(hparams, trial_id=f"{job.phase}/{job.config}/{job.key}")
        for k, v in finals.items():
            if v is not None:
                tf.summary.scalar(f"final/{k}", v, step=step)
    writer.close()


def write_results(race_dir, state, baselines=(), title=None, target_fid=None):
    """Writes race.csv, race.md, tuning.csv, tuning.md and (matplotlib permitting) race.png and
    race_precision_recall.png; returns `(race table, tuning table, summaries)`."""
    from tfgan_fast.eval import callback  # pylint: disable=import-outside-toplevel
    rows = collect(race_dir, state)
    write_csv(os.path.join(race_dir, CSV_FILE), rows)
    tuning = tuning_table(state)
    if tuning:
        _write_csv(os.path.join(race_dir, TUNING_CSV_FILE), TUNING_COLUMNS, tuning_rows(state))
        with open(os.path.join(race_dir, TUNING_TABLE_FILE), "w", encoding="utf-8") as f:
            f.write(tuning)
    names = {}
    for name, c in state["configs"].items():
        for seed in c.get("runs", {}):
            names.update(callback.read_classifier_names(
                os.path.join(race_dir, name, f"seed_{seed}")))
    identities = {r["classifier"] for r in rows}
    if len(identities) > 1:
        raise RaceError(f"the configs were evaluated with different classifiers "
                        f"({sorted(identities)}): their FIDs are not comparable")
    conventions = {r["convention"] for r in rows if r.get("convention")}
    if len(conventions) > 1:
        raise RaceError(f"the configs were evaluated under different conventions "
                        f"({sorted(conventions)}): their FIDs are not comparable")
    classifier_name = names.get(next(iter(identities))) if identities else None
    summaries, target, target_name = summarise(rows, state, baselines, target_fid)
    table = markdown_table(summaries, target, target_name, classifier_name,
                           state.get("last", DEFAULT_LAST))
    if conventions:
        table = f"Measured with {next(iter(conventions))}.\n\n" + table
    with open(os.path.join(race_dir, TABLE_FILE), "w", encoding="utf-8") as f:
        f.write(table)
    try:
        if tuning:
            plot_tuning(state, os.path.join(race_dir, TUNING_PLOT_FILE))
        if rows:
            plot(rows, os.path.join(race_dir, PLOT_FILE), classifier_name, title, target)
            plot_precision_recall(_seed_means(rows), os.path.join(race_dir, PR_PLOT_FILE),
                                  classifier_name, title)
    except ImportError:
        print("race: no matplotlib, so no race.png or tuning.png (pip install "
              "'tfgan_fast[plot]')", file=sys.stderr)
    return table, tuning, summaries


def _seed_means(rows):
    """One row per config and iteration: each metric's mean over the seeds evaluated there."""
    groups = {}
    for r in rows:
        groups.setdefault((r["config"], r["step"]), []).append(r)
    out = []
    for (name, step), rs in sorted(groups.items()):
        m = {"config": name, "step": step, "equivalent_seconds": rs[0]["equivalent_seconds"],
             "seeds": len(rs)}
        for k in ("fid", "precision", "recall", "class_acc"):
            m[k], m[k + "_sd"] = mean_sd([r.get(k) for r in rs])
        out.append(m)
    return out


def plot(rows, path, classifier_name=None, title=None, target=None):
    """FID against equivalent wall-clock (left) and against iterations (right): each config's
    mean over seeds, with a band of ± 1 sd where it has 2 or more, and the target FID dashed
    (matplotlib, PNG). The right panel separates a method that is better per iteration from
    one that is faster per second."""
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    import matplotlib.ticker  # pylint: disable=import-outside-toplevel

    by_config = {}
    for m in _seed_means(rows):
        if m["fid"] is not None:
            by_config.setdefault(m["config"], []).append(m)
    longest = max((r["equivalent_seconds"] for r in rows), default=0.0)
    unit, scale = ("hours", 3600.0) if longest >= 7200 else (
        ("minutes", 60.0) if longest >= 120 else ("seconds", 1.0))
    fig, (by_time, by_step) = plt.subplots(1, 2, figsize=(11.0, 4.4), dpi=100, sharey=True)
    for name, ms in by_config.items():
        seeds = max(m["seeds"] for m in ms)
        label = f"{name} ({seeds} seeds)" if seeds > 1 else name
        mean = [m["fid"] for m in ms]
        low = [m["fid"] - (m["fid_sd"] or 0.0) for m in ms]
        high = [m["fid"] + (m["fid_sd"] or 0.0) for m in ms]
        for ax, xs in ((by_time, [m["equivalent_seconds"] / scale for m in ms]),
                       (by_step, [m["step"] for m in ms])):
            line, = ax.plot(xs, mean, marker="o", markersize=3, linewidth=1.5, label=label)
            if seeds > 1:
                ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if target is not None:
        for ax in (by_time, by_step):
            ax.axhline(target, color="0.4", linestyle="--", linewidth=1,
                       label=f"target FID {target:.2f}" if ax is by_time else None)
    by_time.set_xlabel(f"equivalent wall-clock ({unit}): iterations x measured s/it")
    by_step.set_xlabel("iterations (one G update each)")
    by_time.set_ylabel((f"FID ({classifier_name})" if classifier_name else "FID")
                       + ": mean ± sd over seeds")
    by_time.set_yscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    by_time.yaxis.set_major_formatter(plain)
    by_time.yaxis.set_minor_formatter(plain)
    for ax in (by_time, by_step):
        ax.grid(True, which="both", alpha=0.3)
    by_time.legend(fontsize=8)
    fig.suptitle(title or "time to quality")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def time_to_reach(points, target):
    """Equivalent seconds at which a FID curve first reaches `target` (linear between
    evaluations; the start counts as never reached), or None.

    Args:
        points: `[(equivalent_seconds, fid)]` sorted by time.
        target: the FID to reach.
    """
    prev = None
    for t, fid in points:
        if fid is None or not math.isfinite(fid):
            continue
        if fid <= target:
            if prev is None or prev[1] == fid:
                return t
            t0, f0 = prev
            return t0 + (t - t0) * (f0 - target) / (f0 - fid)
        prev = (t, fid)
    return None



def plot_precision_recall(rows, path, classifier_name=None, title=None):
    """Precision against recall of every evaluation, one line per config ending in a filled
    marker at its final evaluation (matplotlib, PNG): fidelity against diversity."""
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    by_config = {}
    for r in sorted(rows, key=lambda r: (r["config"], r["step"])):
        if r.get("precision") is not None and r.get("recall") is not None:
            by_config.setdefault(r["config"], []).append(r)
    if not by_config:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4.6), dpi=100)
    for name, rs in by_config.items():
        line, = ax.plot([r["recall"] for r in rs], [r["precision"] for r in rs], marker=".",
                        markersize=4, linewidth=1, alpha=0.6)
        ax.plot(rs[-1]["recall"], rs[-1]["precision"], marker="o", markersize=8,
                color=line.get_color(), label=f"{name} (iteration {rs[-1]['step']})")
    suffix = f" ({classifier_name} features)" if classifier_name else ""
    ax.set_xlabel("recall (diversity)" + suffix)
    ax.set_ylabel("precision (fidelity)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title((title or "precision and recall") + "\nevery evaluation, the final one filled",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def failures(state, names):
    """`[(what, error)]` of everything that failed among `names`: a config that could not be
    timed or tuned, a tuning point, a seed."""
    out = []
    for name in names:
        c = state["configs"][name]
        if c.get("error"):
            out.append((name, c["error"]))
        for key, point in c.get("grid", {}).items():
            if point.get("status") == "failed":
                out.append((f"{name} tuning {key}", point.get("error")))
        for seed, run in sorted(c.get("runs", {}).items()):
            if run.get("status") == "failed":
                out.append((f"{name} seed {seed}", run.get("error")))
    return out
