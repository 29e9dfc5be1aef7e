"""Convergence curves (metric vs training seconds, iterations or images) from runs' metrics.csv.

`load_curves` reads and checks the runs (one classifier for all), `plot_curves` draws them in the
style of Zhong et al. 2020, Fig. 1 with matplotlib, which is imported only when plotting (optional
extra `tfgan_fast[plot]`).
"""

import os

from tfgan_fast.eval.callback import METRICS_FILENAME
from tfgan_fast.eval.callback import read_classifier_names
from tfgan_fast.eval.callback import read_metrics

X_COLUMNS = {"seconds": "wall_clock_seconds", "steps": "step", "images": "images_seen"}
X_LABELS = {"seconds": "training wall-clock time", "steps": "iterations",
            "images": "real images seen"}
METRIC_NAMES = {"fid": "FID", "is_mean": "IS", "kid": "KID"}


def load_curves(run_dirs, metric, x, classifier=None):
    """Reads the curves; returns `(curves, classifier identity)`.

    Args:
        run_dirs: run directories, each with a metrics.csv.
        metric: "fid", "is_mean" or "kid".
        x: "seconds", "steps" or "images".
        classifier: keep only rows of this classifier identity (default: the runs must agree).

    Returns:
        `([(run_dir, xs, ys, is_stds or None)], identity)`; rows with an empty x or metric are
        skipped.

    Raises:
        ValueError: a run has no metrics.csv / no rows, or the runs' classifiers differ.
    """
    curves, identities = [], {}
    for run_dir in run_dirs:
        path = os.path.join(run_dir, METRICS_FILENAME)
        rows = read_metrics(path)
        if classifier is not None:
            rows = [r for r in rows if r["classifier"] == classifier]
        rows = [r for r in rows if r[X_COLUMNS[x]] is not None and r[metric] is not None]
        if not rows:
            raise ValueError(f"{path}: no rows to plot (missing file, empty, or no "
                             f"{X_COLUMNS[x]} / {metric} values)")
        for r in rows:
            identities.setdefault(r["classifier"], set()).add(run_dir)
        rows.sort(key=lambda r: r["step"])
        xs = [float(r[X_COLUMNS[x]]) for r in rows]
        ys = [r[metric] for r in rows]
        stds = [r["is_std"] or 0.0 for r in rows] if metric == "is_mean" else None
        curves.append((run_dir, xs, ys, stds))
    if len(identities) > 1:
        detail = "; ".join(f"{k!r}: {sorted(v)}" for k, v in identities.items())
        raise ValueError(f"the runs were evaluated with different classifiers ({detail}); their "
                         "curves are not comparable. Pick one with --classifier=IDENTITY.")
    return curves, next(iter(identities))


def display_name(identity, run_dirs):
    """How to label the classifier: None for Inception, else its recorded display name."""
    for d in run_dirs:
        names = read_classifier_names(d)
        if identity in names:
            return names[identity]
    if identity.startswith("tfhub:") and "inception" in identity:
        return None
    return f"classifier {identity}"  # unknown: never let it pass as plain (Inception) FID


def plot_curves(curves, identity, metric, x, output, labels=None, title=None, log_y=False):
    """Draws the curves with matplotlib and writes `output` (PNG)."""
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use("Agg")  # files only: no display on clusters
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        raise ImportError("plotting curves needs matplotlib: pip install matplotlib (or pip "
                          "install 'tfgan_fast[plot]')") from e
    display = display_name(identity, [c[0] for c in curves])
    name = METRIC_NAMES[metric]
    ylabel = f"{name} ({display})" if display else name
    xlabel = X_LABELS[x]
    scale = 1.0
    if x == "seconds":
        # Zhong et al. 2020, Fig. 1 counts hours; CPU smoke runs last minutes.
        longest = max(max(c[1]) for c in curves)
        unit, scale = (("hours", 3600.0) if longest >= 7200 else
                       ("minutes", 60.0) if longest >= 120 else ("seconds", 1.0))
        xlabel = f"{xlabel} ({unit}, evaluations excluded)"
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for i, (run_dir, xs, ys, stds) in enumerate(curves):
        xs = [v / scale for v in xs]
        label = labels[i] if labels else os.path.basename(os.path.normpath(run_dir))
        line, = ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.5, label=label)
        if stds is not None:
            lo = [y - s for y, s in zip(ys, stds)]
            hi = [y + s for y, s in zip(ys, stds)]
            ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title(title or f"{ylabel} vs {X_LABELS[x]}")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    fig.savefig(output)
    plt.close(fig)
    return output
