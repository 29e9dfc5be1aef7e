"""A time-to-quality race: several gin configs, one budget in seconds, FID against time.

The FastGAN paper's headline (Zhong et al., Fig. 1, Table 2) is that FastGAN reaches a better FID
than SNGAN and RobGAN in less wall-clock time. A race measures exactly that on this machine:

1. **Speed.** Every config's training step is built and timed in this process, in interleaved
   rounds (round r times every config once, so a change of machine load hits them alike); the
   speed of a config is the mean over its timed iterations, seconds per iteration (`s/it`).
2. **Training.** Each config trains for `budget / (s/it)` iterations as an ordinary run of
   `python -m tfgan_fast.train` in `RACE_DIR/<name>/` (its own process, log
   `RACE_DIR/<name>/train.log`), evaluated at `num_evals` evenly spaced iterations. The gin macro
   `TRAIN_STEPS` is bound to the iteration count, so schedules written against it
   (`LinearDecay.total_steps = %TRAIN_STEPS`) span the run.
3. **Results.** Each evaluation's *equivalent wall-clock* is `iteration x s/it`: what the run
   would have taken on the quiet machine the speeds were measured on, whatever else the machine
   did while it trained. `race.csv` has every evaluation of every config, `race.png` FID against
   equivalent seconds (and against iterations), `race.md` a table with the final FID, IS and
   class accuracy and the time each config needed to reach the best baseline's final FID.

`iterations` replaces the budget by one iteration count for every config (equal iterations, as
a hyper-parameter sweep wants); a config's own gin bindings follow its files in its spec.

State lives in `RACE_DIR/race.json`, written atomically after every change: a second invocation
with the same arguments skips the timing, skips finished configs, resumes the one that was
interrupted (its run resumes from its newest checkpoint) and retries failed ones. A config that
fails (a bad binding, missing data, NaN) is recorded with its error and the race goes on.
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

STATE_FILE = "race.json"
CSV_FILE = "race.csv"
PLOT_FILE = "race.png"
PR_PLOT_FILE = "race_precision_recall.png"
TABLE_FILE = "race.md"
LOG_FILE = "train.log"
CSV_COLUMNS = ("config", "step", "equivalent_seconds", "fid", "is_mean", "is_std", "kid",
               "class_acc", "precision", "recall", "density", "coverage", "s_per_it",
               "classifier", "convention")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_PROGRESS = re.compile(r"\]\s+(\d+)/(\d+)\s+\|")
# The line of a traceback that says what went wrong (`DataError: ...`, `ValueError: ...`).
_ERROR = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit)): ")


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
    if not _NAME.match(name):
        raise RaceError(f"--config={spec!r}: the name {name!r} must be letters, digits, "
                        "'_', '-' or '.' (it names a directory)")
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


def iterations_for(budget_seconds, s_per_it):
    """How many iterations fit in the budget at the measured speed (at least 1)."""
    return max(1, int(budget_seconds // s_per_it))


def eval_every_for(iterations, num_evals):
    """Evaluation interval giving at least `num_evals` evenly spaced evaluations (the last at
    the final iteration)."""
    return max(1, iterations // num_evals)


# --- state ------------------------------------------------------------------------------------

def _write_json(path, obj):
    fd, tmp = tempfile.mkstemp(prefix=".race-", dir=os.path.dirname(path))
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def load_state(race_dir, budget_seconds, num_evals, configs, iterations=None):
    """Reads `race.json` (or starts one) and checks it was made with the same arguments.

    `iterations`, when given, trains every config for that many iterations instead of
    budget / (s/it) (a race at equal iterations, e.g. a hyper-parameter sweep); the budget is
    then unused.

    Raises:
        RaceError: the directory holds a race with another budget, iteration count,
            evaluation count, or another definition of a config of the same name.
    """
    path = os.path.join(race_dir, STATE_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    else:
        state = {"budget_seconds": budget_seconds, "num_evals": num_evals, "configs": {}}
        if iterations is not None:
            state["iterations"] = iterations
    for key, value in (("budget_seconds", budget_seconds), ("num_evals", num_evals),
                       ("iterations", iterations)):
        if state.get(key) != value:
            flag = f"--{key}={state[key]}" if state.get(key) is not None else f"no --{key}"
            raise RaceError(f"{path} is a race with {key} = {state.get(key)}, not {value}: "
                            f"rerun with {flag} to continue it, or use another --race_dir")
    for c in configs:
        old = state["configs"].get(c.name)
        if old is None:
            state["configs"][c.name] = {"gin_files": c.gin_files, "gin_params": c.gin_params,
                                        "status": "pending"}
        elif old["gin_files"] != c.gin_files or old["gin_params"] != c.gin_params:
            raise RaceError(f"{path}: config {c.name!r} was started with gin files "
                            f"{old['gin_files']} and bindings {old['gin_params']}; name the "
                            "new one differently or use another --race_dir")
    return state


def save_state(race_dir, state):
    _write_json(os.path.join(race_dir, STATE_FILE), state)


# --- speed ------------------------------------------------------------------------------------

def _build_for_timing(config):
    """A set-up trainer of `config` and an iterator over its data (this process)."""
    from tfgan_fast import callbacks as callbacks_lib  # pylint: disable=import-outside-toplevel
    from tfgan_fast import config as config_lib  # pylint: disable=import-outside-toplevel
    from tfgan_fast import experiment  # pylint: disable=import-outside-toplevel

    config_lib.parse(config.gin_files, config.gin_params + ["run.evaluator = None"])
    with tempfile.TemporaryDirectory() as model_dir:
        exp = experiment.build(model_dir)
    trainer = exp.trainer
    per_replica = exp.per_replica_batch
    local = per_replica * trainer.real_batches_per_iteration
    dataset = exp.strategy.distribute_datasets_from_function(
        lambda ctx: exp.data.make(local, seed=0, input_context=ctx))
    times = []
    timer = callbacks_lib.StepTimer(times)

    def run(iterations):
        """Times `iterations` iterations after one untimed (the data pipeline's start)."""
        del times[:]
        trainer.fit(dataset, epochs=1, steps_per_epoch=iterations + 1, callbacks=[timer],
                    verbose=0, shuffle=False)
        return list(times[1:])

    return run


def measure_speeds(configs, rounds=3, iterations=5, warmup=2, log=print):
    """Seconds per iteration of each config, timed in interleaved rounds in this process.

    Args:
        configs: `RaceConfig`s.
        rounds: timing rounds; each times every config for `iterations` iterations.
        iterations: timed iterations per config and round.
        warmup: untimed iterations per config before the first round (tracing).
        log: `fn(str)` for progress lines.

    Returns:
        `{name: {"s_per_it", "s_per_it_std" (over rounds), "rounds": [mean per round],
        "load_average"}}`, or `{name: {"error": "..."}}` for a config that could not be built
        or run.
    """
    runners, results = {}, {}
    for c in configs:
        try:
            log(f"race: building {c.name} for timing")
            runners[c.name] = _build_for_timing(c)
            runners[c.name](warmup)
        except Exception as e:  # pylint: disable=broad-except  # recorded, the race goes on
            results[c.name] = {"error": _one_line(e)}
            log(f"race: {c.name} failed before timing: {results[c.name]['error']}")
    per_round = {name: [] for name in runners}
    loads = []
    for r in range(rounds):
        for name, run in runners.items():
            if name in results:
                continue
            try:
                times = run(iterations)
            except Exception as e:  # pylint: disable=broad-except
                results[name] = {"error": _one_line(e)}
                log(f"race: {name} failed while timing: {results[name]['error']}")
                continue
            per_round[name].append(sum(times) / len(times))
            loads.append(os.getloadavg()[0])
        log(f"race: timing round {r + 1}/{rounds}: " + ", ".join(
            f"{n} {v[-1]:.3f} s/it" for n, v in per_round.items() if v and n not in results))
    for name, values in per_round.items():
        if name in results:
            continue
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        results[name] = {"s_per_it": mean, "s_per_it_std": std, "rounds": values,
                         "load_average": max(loads) if loads else None}
    return results


def _one_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:500]


# --- training -----------------------------------------------------------------------------------

def train_command(config, model_dir, iterations, eval_every):
    """The `python -m tfgan_fast.train` command of one contestant."""
    cmd = [sys.executable, "-m", "tfgan_fast.train", f"--model_dir={model_dir}"]
    cmd += [f"--gin_file={f}" for f in config["gin_files"]]
    params = list(config["gin_params"]) + [
        f"TRAIN_STEPS = {iterations}",
        f"run.train_steps = {iterations}",
        f"run.eval_every = {eval_every}",
        f"run.checkpoint_every = {eval_every}",
    ]
    cmd += [f"--gin_param={p}" for p in params]
    return cmd


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


def final_step(model_dir):
    """The newest checkpoint's iteration of a run directory (0 if none)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    if not latest:
        return 0
    return int(latest.rsplit("-", 1)[-1])


# --- results ------------------------------------------------------------------------------------

def collect(race_dir, state):
    """Every evaluation of every timed config as rows of `CSV_COLUMNS` (equivalent seconds)."""
    from tfgan_fast.eval import callback  # pylint: disable=import-outside-toplevel
    rows = []
    for name, c in state["configs"].items():
        if "s_per_it" not in c:
            continue
        for r in callback.read_metrics(os.path.join(race_dir, name, callback.METRICS_FILENAME)):
            rows.append({"config": name, "step": r["step"],
                         "equivalent_seconds": r["step"] * c["s_per_it"],
                         "fid": r["fid"], "is_mean": r["is_mean"], "is_std": r["is_std"],
                         "kid": r["kid"], "class_acc": r.get("class_acc"),
                         "precision": r.get("precision"), "recall": r.get("recall"),
                         "density": r.get("density"), "coverage": r.get("coverage"),
                         "s_per_it": c["s_per_it"], "classifier": r["classifier"],
                         "convention": r.get("convention")})
    return rows


def write_csv(path, rows):
    fd, tmp = tempfile.mkstemp(prefix=".race-", dir=os.path.dirname(path))
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if r.get(k) is None else r[k]) for k in CSV_COLUMNS})
    os.replace(tmp, path)


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


def summarise(rows, state, baselines=()):
    """One dict per config: speed, iterations, final and best FID, time to the target.

    The target is the best (lowest) final FID among `baselines`; every config's time to reach
    it is its first crossing of that FID.

    Returns:
        `(summaries, target FID or None, the baseline that set it or None)`.
    """
    by_config = {}
    for r in sorted(rows, key=lambda r: (r["config"], r["step"])):
        by_config.setdefault(r["config"], []).append(r)
    finals = {name: rs[-1] for name, rs in by_config.items()}
    target, target_name = None, None
    for b in baselines:
        if b in finals and finals[b]["fid"] is not None and (
                target is None or finals[b]["fid"] < target):
            target, target_name = finals[b]["fid"], b
    summaries = []
    for name, c in state["configs"].items():
        rs = by_config.get(name, [])
        s = {"config": name, "status": c.get("status"), "error": c.get("error"),
             "s_per_it": c.get("s_per_it"), "s_per_it_std": c.get("s_per_it_std"),
             "iterations": c.get("iterations"), "evaluations": len(rs)}
        if rs:
            last = rs[-1]
            fids = [r["fid"] for r in rs if r["fid"] is not None]
            s.update(final_step=last["step"], final_fid=last["fid"], final_is=last["is_mean"],
                     final_is_std=last["is_std"], final_class_acc=last["class_acc"],
                     best_fid=min(fids) if fids else None,
                     equivalent_seconds=last["equivalent_seconds"])
            if target is not None:
                s["time_to_target"] = time_to_reach(
                    [(r["equivalent_seconds"], r["fid"]) for r in rs], target)
        summaries.append(s)
    return summaries, target, target_name


def _minutes(seconds):
    if seconds is None:
        return "–"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def markdown_table(summaries, target, target_name, classifier_name=None):
    """The race's result table (GitHub markdown)."""
    q = (lambda m: f"{m} ({classifier_name})") if classifier_name else (lambda m: m)
    head = ["config", "s/it", "iterations", "equivalent time", q("final FID"), "best FID",
            q("IS"), "class accuracy"]
    if target is not None:
        head.append(f"time to FID {target:.2f} ({target_name}'s final)")
    head.append("note")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summaries:
        speed = "–" if s.get("s_per_it") is None else f"{s['s_per_it']:.3f}"
        if "final_fid" not in s:
            why = s.get("error") or s.get("status") or "not run"
            cells = [s["config"], speed] + ["–"] * (len(head) - 3) + [why.replace("|", "/")]
            lines.append("| " + " | ".join(cells) + " |")
            continue
        acc = s.get("final_class_acc")
        cells = [s["config"], speed, f"{s['final_step']}",
                 _minutes(s["equivalent_seconds"]), f"{s['final_fid']:.2f}",
                 f"{s['best_fid']:.2f}", f"{s['final_is']:.2f} ± {s['final_is_std']:.2f}",
                 "–" if acc is None else f"{100 * acc:.1f}%"]
        if target is not None:
            cells.append(_minutes(s.get("time_to_target")) if s.get("time_to_target")
                         is not None else "not reached")
        note = ""
        if s.get("status") != "done":
            note = (f"{s.get('status')}: at iteration {s['final_step']} of "
                    f"{s.get('iterations')}")
            if s.get("error"):
                note += f"; {s['error']}"
        cells.append(note.replace("|", "/"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(rows, path, classifier_name=None, title=None):
    """FID against equivalent wall-clock (left) and against iterations (right), one line per
    config (matplotlib, PNG). The right panel separates a method that is better per iteration
    from one that is faster per second."""
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    import matplotlib.ticker  # pylint: disable=import-outside-toplevel

    by_config = {}
    for r in sorted(rows, key=lambda r: (r["config"], r["step"])):
        if r["fid"] is not None:
            by_config.setdefault(r["config"], []).append(r)
    longest = max((r["equivalent_seconds"] for r in rows), default=0.0)
    unit, scale = ("hours", 3600.0) if longest >= 7200 else (
        ("minutes", 60.0) if longest >= 120 else ("seconds", 1.0))
    fig, (by_time, by_step) = plt.subplots(1, 2, figsize=(11.0, 4.4), dpi=100, sharey=True)
    for name, rs in by_config.items():
        style = dict(marker="o", markersize=3, linewidth=1.5, label=name)
        by_time.plot([r["equivalent_seconds"] / scale for r in rs], [r["fid"] for r in rs],
                     **style)
        by_step.plot([r["step"] for r in rs], [r["fid"] for r in rs], **style)
    by_time.set_xlabel(f"equivalent wall-clock ({unit}): iterations x measured s/it")
    by_step.set_xlabel("iterations (one G update each)")
    by_time.set_ylabel(f"FID ({classifier_name})" if classifier_name else "FID")
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


def write_results(race_dir, state, baselines=(), title=None):
    """Writes race.csv, race.md and (matplotlib permitting) race.png and
    race_precision_recall.png; returns the table."""
    from tfgan_fast.eval import callback  # pylint: disable=import-outside-toplevel
    rows = collect(race_dir, state)
    write_csv(os.path.join(race_dir, CSV_FILE), rows)
    names = {}
    for name in state["configs"]:
        names.update(callback.read_classifier_names(os.path.join(race_dir, name)))
    identities = {r["classifier"] for r in rows}
    if len(identities) > 1:
        raise RaceError(f"the configs were evaluated with different classifiers "
                        f"({sorted(identities)}): their FIDs are not comparable")
    conventions = {r["convention"] for r in rows if r.get("convention")}
    if len(conventions) > 1:
        raise RaceError(f"the configs were evaluated under different conventions "
                        f"({sorted(conventions)}): their FIDs are not comparable")
    classifier_name = names.get(next(iter(identities))) if identities else None
    summaries, target, target_name = summarise(rows, state, baselines)
    table = markdown_table(summaries, target, target_name, classifier_name)
    if conventions:
        table = f"Measured with {next(iter(conventions))}.\n\n" + table
    with open(os.path.join(race_dir, TABLE_FILE), "w", encoding="utf-8") as f:
        f.write(table)
    if rows:
        try:
            plot(rows, os.path.join(race_dir, PLOT_FILE), classifier_name, title)
            plot_precision_recall(rows, os.path.join(race_dir, PR_PLOT_FILE), classifier_name,
                                  title)
        except ImportError:
            print("race: no matplotlib, so no race.png (pip install 'tfgan_fast[plot]')",
                  file=sys.stderr)
    return table, summaries
