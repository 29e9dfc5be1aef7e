"""Periodic evaluation during training: TensorBoard scalars, `metrics.csv`, best checkpoint.

`metrics.csv` is the convergence curve the papers' claims are about ("better FID in less
wall-clock time"): one row per evaluation with

    step, wall_clock_seconds, images_seen, is_mean, is_std, fid, kid, classifier, eval_seconds,
    class_acc, precision, recall, density, coverage, convention

(`class_acc`: the fraction of samples the classifier assigns to their conditioning class, empty
for unconditional generators or a classifier with other classes; `precision` ... `coverage`:
`tfgan_fast.eval.manifold`, empty when the real statistics hold no features; files written
before a column was added are extended with empty columns when a run resumes.)

`wall_clock_seconds` counts *training* seconds (evaluations excluded, so an expensive evaluation
schedule does not penalise a method) and continues across resumes from the file's last row.
`classifier` is the classifier's identity: curves under different classifiers are not comparable.
"""

import csv
import json
import math
import os
import sys
import tempfile
import time

import keras
import tensorflow as tf

MANIFOLD_KEYS = ("precision", "recall", "density", "coverage")
CSV_COLUMNS = ("step", "wall_clock_seconds", "images_seen", "is_mean", "is_std", "fid", "kid",
               "classifier", "eval_seconds", "class_acc") + MANIFOLD_KEYS + ("convention",)
METRICS_FILENAME = "metrics.csv"
EVAL_SUBDIR = "eval"
# identity -> display name of every classifier a run was evaluated with (for plot labels).
CLASSIFIERS_FILENAME = "classifiers.json"


def read_metrics(path):
    """Rows of a `metrics.csv` as dicts (numbers as floats, `step` as int; "" as None)."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = []
        for row in reader:
            out = {}
            for k, v in row.items():
                if k in ("classifier", "convention"):
                    out[k] = v
                elif v in ("", None):
                    out[k] = None
                else:
                    out[k] = int(float(v)) if k in ("step", "images_seen") else float(v)
            rows.append(out)
    return rows


def read_classifier_names(model_dir):
    """`{identity: display name or None}` recorded by `EvaluationCallback` in `model_dir/eval`."""
    path = os.path.join(model_dir, EVAL_SUBDIR, CLASSIFIERS_FILENAME)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _record_classifier(model_dir, classifier):
    names = read_classifier_names(model_dir)
    if names.get(classifier.identity, "") == classifier.display_name:
        return
    names[classifier.identity] = classifier.display_name
    directory = os.path.join(model_dir, EVAL_SUBDIR)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".classifiers-", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(names, f, indent=2, sort_keys=True)
    os.replace(tmp, os.path.join(directory, CLASSIFIERS_FILENAME))


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


class EvaluationCallback(keras.callbacks.Callback):
    """Evaluates the generator every `every` iterations of `self.model.iteration`.

    Each evaluation prints its result and cost, writes scalars `eval/<classifier>/{fid, is_mean,
    is_std, kid}` and `eval/seconds` to `model_dir/eval`, appends a row to `model_dir/metrics.csv`
    and, when FID improves on every earlier row of the same classifier (also from before a
    resume), calls `best_checkpoint_fn(step, fid)`.

    Args:
        evaluator: an `evaluator.Evaluator`; prepared (classifier and real statistics loaded) at
            the start of training so a broken set-up fails before any training.
        every: iterations between evaluations (0: only at the end, if `eval_at_end`).
        model_dir: the run directory.
        sample_fn: `fn(z, labels) -> images`, e.g. `tf.function(trainer.generate)`.
        z_dim: latent size.
        num_classes: C (0 for unconditional).
        seed: evaluation seed (the same latents at every evaluation).
        best_checkpoint_fn: `fn(step, fid)` called on improvement, or None.
        global_batch_size: real images per iteration over all replicas (images_seen =
            iteration * global_batch_size); None leaves the column empty.
        latent_sampler: the trainer's `fn(shape, seed) -> z` (default normal).
        latent_transform: optional `fn(z, labels) -> z` at sampling (LOGAN).
        eval_at_end: also evaluate at the end of training if the last step was not evaluated.
        stream: where the one-line summaries go (default stdout).
        final_step: the run's last iteration: its evaluation is the evaluator's final one
            (`Evaluator.final_num_samples`); a final figure measured on another sample count
            than the curve's is recorded but never picked as the best checkpoint.
    """

    def __init__(self, evaluator, every, model_dir, sample_fn, z_dim, num_classes, seed=0,
                 best_checkpoint_fn=None, global_batch_size=None, latent_sampler=None,
                 latent_transform=None, eval_at_end=True, stream=None, final_step=None,
                 generator_note=None):
        super().__init__()
        if every < 0:
            raise ValueError(f"every must be >= 0, got {every}")
        self.evaluator = evaluator
        self.every = int(every)
        self.model_dir = model_dir
        self.sample_fn = sample_fn
        self.z_dim = int(z_dim)
        self.num_classes = int(num_classes)
        self.final_step = final_step
        self.seed = int(seed)
        self.best_checkpoint_fn = best_checkpoint_fn
        self.global_batch_size = global_batch_size
        self.latent_sampler = latent_sampler
        self.latent_transform = latent_transform
        self.eval_at_end = eval_at_end
        self.generator_note = generator_note  # e.g. the EMA's description, in every record
        self.stream = stream or sys.stdout
        self.csv_path = os.path.join(model_dir, METRICS_FILENAME)
        self.writer = None
        self.best_fid = math.inf
        self.last_step = None
        self.last_result = None  # the newest evaluation's dict (with "step"), for summaries
        self._recorded_steps = set()
        self._offset = 0.0
        self._t0 = None
        self._eval_seconds = 0.0

    # --- resume bookkeeping -------------------------------------------------------------------

    def _load_history(self, start_step):
        """Trims rows the resumed run will redo; returns the training seconds before it."""
        rows = read_metrics(self.csv_path)
        columns = list(rows[0]) if rows else []
        if columns and columns != list(CSV_COLUMNS)[:len(columns)]:
            raise ValueError(f"{self.csv_path} has columns {columns}, expected "
                             f"{list(CSV_COLUMNS)}; move it away to start a new one")
        kept = [r for r in rows if r["step"] <= start_step]
        if rows and (len(kept) < len(rows) or len(columns) < len(CSV_COLUMNS)):
            # Rows after the checkpoint this run resumes from will be evaluated again (keeping
            # both would make the curve go backwards); a file from before a column was added
            # gets it, empty.
            self._write_rows([{c: r.get(c) for c in CSV_COLUMNS} for r in kept])
        if len(kept) < len(rows):
            self._print(f"metrics.csv: dropped {len(rows) - len(kept)} row(s) after iteration "
                        f"{start_step}, the checkpoint this run resumes from")
        self._recorded_steps = {r["step"] for r in kept}
        identity = self.evaluator.classifier.identity
        fids = [r["fid"] for r in kept if r["classifier"] == identity and r["fid"] is not None
                and math.isfinite(r["fid"])]
        self.best_fid = min(fids) if fids else math.inf
        if not kept or start_step == 0:
            return 0.0
        last = kept[-1]
        if last["step"] == start_step or not last["step"]:
            return last["wall_clock_seconds"]
        # Iterations between the last evaluation and the checkpoint: assume the run's mean rate.
        return last["wall_clock_seconds"] * start_step / last["step"]

    def _write_rows(self, rows):
        fd, tmp = tempfile.mkstemp(prefix=".metrics-", dir=self.model_dir)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(CSV_COLUMNS)
            for r in rows:
                writer.writerow([_fmt(r[c]) for c in CSV_COLUMNS])
        os.replace(tmp, self.csv_path)

    def _append_row(self, row):
        new = not os.path.isfile(self.csv_path) or os.path.getsize(self.csv_path) == 0
        with open(self.csv_path, "a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(CSV_COLUMNS)
            writer.writerow([_fmt(row[c]) for c in CSV_COLUMNS])

    def _print(self, text):
        self.stream.write(text + "\n")
        self.stream.flush()

    # --- Keras hooks ------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.evaluator.prepare()
        steps = getattr(self.evaluator, "latent_steps", 0)
        if steps and self.latent_transform is None:
            # LOGAN's latent steps at sampling (Wu et al. 2019, App. B) need the trainer's D and G.
            if getattr(self.model, "latent_transform", None) is None:
                raise ValueError(f"Evaluator.latent_steps={steps} needs a trainer with a latent "
                                 f"transform (LOGAN), got {type(self.model).__name__}")
            self.latent_transform = tf.function(self.model.sampling_latent_transform(steps))
        os.makedirs(self.model_dir, exist_ok=True)
        start_step = int(self.model.iteration.numpy())
        self._offset = self._load_history(start_step)
        self.writer = tf.summary.create_file_writer(os.path.join(self.model_dir, EVAL_SUBDIR))
        _record_classifier(self.model_dir, self.evaluator.classifier)
        self.last_step = start_step if start_step else None
        self._eval_seconds = 0.0
        self._t0 = time.time()
        if (self.every > 0 and start_step and start_step % self.every == 0
                and start_step not in self._recorded_steps):
            # The run stopped after this iteration's checkpoint but before its evaluation
            # (checkpoints are written first): evaluate it now, so the curve has no hole.
            self.evaluate(start_step)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.iteration.numpy())
        if self.every > 0 and step % self.every == 0 and step != self.last_step:
            self.evaluate(step)

    def on_train_end(self, logs=None):
        step = int(self.model.iteration.numpy())
        if self.eval_at_end and step != self.last_step:
            self.evaluate(step)
        if self.writer is not None:
            self.writer.flush()

    def training_seconds(self):
        """Training wall-clock seconds so far (this run's minus its evaluations, plus before)."""
        return self._offset + (time.time() - self._t0) - self._eval_seconds

    def evaluate(self, step):
        """Runs one evaluation at `step` and records it; returns the evaluator's dict."""
        wall = self.training_seconds()
        t0 = time.time()
        final = self.final_step is not None and step >= self.final_step
        result = self.evaluator.evaluate(
            self.sample_fn, self.z_dim, self.num_classes, seed=self.seed,
            latent_sampler=self.latent_sampler, latent_transform=self.latent_transform,
            final=final)
        if self.generator_note:
            base = result.get("convention")
            note = f"generator: {self.generator_note}"
            result["convention"] = f"{base}; {note}" if base else note
        seconds = time.time() - t0
        self._eval_seconds += seconds
        self.last_step = step
        classifier = self.evaluator.classifier
        row = {
            "step": step,
            "wall_clock_seconds": wall,
            "images_seen": (step * int(self.global_batch_size)
                            if self.global_batch_size else None),
            "is_mean": result["is_mean"], "is_std": result["is_std"],
            "fid": result["fid"], "kid": result["kid"],
            "classifier": result["classifier"],
            "eval_seconds": seconds,
            "class_acc": result.get("class_acc"),
        }
        row.update({key: result.get(key) for key in MANIFOLD_KEYS})
        row["convention"] = result.get("convention")
        self._append_row(row)
        with self.writer.as_default(step=step):
            for key in ("fid", "is_mean", "is_std", "kid", "class_acc") + MANIFOLD_KEYS:
                if result.get(key) is not None:
                    tf.summary.scalar(f"eval/{classifier.slug}/{key}", result[key])
            tf.summary.scalar("eval/seconds", seconds)
        self.writer.flush()
        acc = result.get("class_acc")
        self._print(
            f"evaluation at iteration {step}: {classifier.qualify('FID')} {result['fid']:.2f}, "
            f"{classifier.qualify('IS')} {result['is_mean']:.2f}±{result['is_std']:.2f}, "
            f"{classifier.qualify('KID')} {result['kid']:.4f}"
            + ("" if acc is None else f", class accuracy {100 * acc:.1f}%")
            + ("" if result.get("precision") is None else
               f", precision {result['precision']:.3f}, recall {result['recall']:.3f}")
            + f"; took {seconds:.0f} s [{result.get('convention')}]")
        self.last_result = dict(result, step=step)
        fid = result["fid"]
        if final and hasattr(self.evaluator, "sample_counts") and (
                self.evaluator.sample_counts(True) != self.evaluator.sample_counts(False)):
            fid = math.nan  # another convention than the curve's: not comparable for "best"
        if math.isfinite(fid) and fid < self.best_fid:
            self.best_fid = fid
            if self.best_checkpoint_fn is not None:
                self.best_checkpoint_fn(step, fid)
        return result
