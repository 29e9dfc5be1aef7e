r"""Scatter grids, metric curves and a table of 2-D synthetic runs (Tao & Wang 2020, Fig. 1, 2, 9).

  python tools/synthetic_figures.py \
      --run=FAR=runs/fargan/gaussian_far --run=0GP-sample=runs/fargan/gaussian_0gp_sample \
      --steps=100000,200000 --output=docs/fargan_gaussian.png \
      --curves_output=docs/fargan_gaussian_curves.png --title="Finite Gaussian (512 samples)"

Each run directory is a training run of a `gin/synthetic/fargan_*.gin` config: its
`synthetic_metrics.csv` and the points saved beside each scatter plot
(`scatter/step_<iteration>.npy`, `scatter/real.npy`; see `tfgan_fast.eval.synthetic`).

- `--output`: one row per run, one column per `--steps` iteration, in the layout of the paper's
  figures: the finite real samples in blue, 2,500 generated samples in red.
- `--curves_output`: modes covered, high-quality fraction, real-sample coverage and energy distance
  against the iteration, one line per run.
- stdout: a Markdown table of the metrics at `--steps` (for docs/fargan.md).

Needs matplotlib (`pip install 'tfgan_fast[plot]'`).
"""

import csv
import os

from absl import app
from absl import flags

from tfgan_fast.run import cli

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("run", [], "NAME=RUN_DIR, one per row (in this order).")
flags.DEFINE_list("steps", [], "Iterations to show, one column each.")
flags.DEFINE_string("output", None, "Scatter grid PNG.")
flags.DEFINE_string("curves_output", None, "Metric curves PNG.")
flags.DEFINE_string("title", None, "Figure title.")
flags.DEFINE_integer("dpi", 80, "Resolution of the PNGs.")

# (csv column, axis label, log scale)
METRICS = (("modes_covered", "modes covered", False),
           ("high_quality_fraction", "high-quality fraction", False),
           ("real_coverage", "real-sample coverage", False),
           ("energy_distance", "energy distance", True))


def read_metrics(run_dir):
    """`{step: {column: float}}` from `run_dir/synthetic_metrics.csv`."""
    from tfgan_fast.eval import synthetic  # pylint: disable=import-outside-toplevel

    path = os.path.join(run_dir, synthetic.CSV_NAME)
    if not os.path.isfile(path):
        raise app.UsageError(f"{path} not found: is {run_dir} a 2-D synthetic run?")
    rows = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows[int(row["step"])] = {k: float(v) for k, v in row.items()
                                      if k not in ("step", "scatter_png") and v not in ("", None)}
    return rows


def load_points(run_dir, step):
    """`(real [n, 2], generated [m, 2])` of a run at `step`."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    from tfgan_fast.eval import synthetic  # pylint: disable=import-outside-toplevel

    directory = os.path.join(run_dir, synthetic.SCATTER_SUBDIR)
    paths = (os.path.join(directory, "real.npy"), os.path.join(directory, f"step_{step:08d}.npy"))
    for path in paths:
        if not os.path.isfile(path):
            raise app.UsageError(f"{path} not found: was {run_dir} evaluated at iteration "
                                 f"{step}? (synthetic_evaluation.every must divide it)")
    return np.load(paths[0]), np.load(paths[1])


def table(runs, metrics, steps):
    """Markdown rows: one per run and step."""
    lines = ["| run | iteration | modes covered | high-quality fraction | real-sample coverage "
             "| energy distance |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, _ in runs:
        for step in steps:
            row = metrics[name].get(step)
            if row is None:
                lines.append(f"| {name} | {step:,} | not reached | | | |")
                continue
            modes = (f"{int(row['modes_covered'])} / {int(row['num_modes'])}"
                     if "modes_covered" in row else "-")
            hq = f"{row['high_quality_fraction']:.3f}" if "high_quality_fraction" in row else "-"
            cov = f"{row['real_coverage']:.3f}" if "real_coverage" in row else "-"
            lines.append(f"| {name} | {step:,} | {modes} | {hq} | {cov} | "
                         f"{row['energy_distance']:.4f} |")
    return "\n".join(lines)


def scatter_grid(runs, steps, output, title, dpi):
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel

    fig, axes = plt.subplots(len(runs), len(steps), figsize=(2.6 * len(steps), 2.6 * len(runs)),
                             squeeze=False)
    for i, (name, run_dir) in enumerate(runs):
        for j, step in enumerate(steps):
            ax = axes[i][j]
            real, fake = load_points(run_dir, step)
            extent = 1.25 * float(np.abs(real).max())
            ax.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:red", marker="+", linewidths=0.5)
            ax.scatter(real[:, 0], real[:, 1], s=2, c="tab:blue")
            ax.set_xlim(-extent, extent)
            ax.set_ylim(-extent, extent)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            if i == 0:
                ax.set_title(f"iteration {step // 1000}k", fontsize=10)
            if j == 0:
                ax.set_ylabel(name, fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(output, dpi=dpi)
    plt.close(fig)


def curves(runs, metrics, output, title, dpi):
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    shown = [m for m in METRICS if any(m[0] in row for name, _ in runs
                                       for row in metrics[name].values())]
    fig, axes = plt.subplots(1, len(shown), figsize=(3.6 * len(shown), 3.0), squeeze=False)
    for ax, (column, label, log) in zip(axes[0], shown):
        for name, _ in runs:
            points = sorted((s, r[column]) for s, r in metrics[name].items() if column in r)
            if points:
                ax.plot([s / 1000 for s, _ in points], [v for _, v in points], label=name,
                        linewidth=1.2)
        ax.set_xlabel("iteration (k)")
        ax.set_title(label, fontsize=10)
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(output, dpi=dpi)
    plt.close(fig)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    runs = cli.named_paths(FLAGS.run, what="RUN_DIR", is_dir=True)
    try:
        steps = [int(s) for s in FLAGS.steps]
    except ValueError as e:
        raise app.UsageError(f"--steps={','.join(FLAGS.steps)}: integers expected") from e
    metrics = {name: read_metrics(run_dir) for name, run_dir in runs}
    if FLAGS.output:
        if not steps:
            raise app.UsageError("--output needs --steps")
        scatter_grid(runs, steps, FLAGS.output, FLAGS.title, FLAGS.dpi)
        print(f"Wrote {FLAGS.output}")
    if FLAGS.curves_output:
        curves(runs, metrics, FLAGS.curves_output, FLAGS.title, FLAGS.dpi)
        print(f"Wrote {FLAGS.curves_output}")
    if steps:
        print(table(runs, metrics, steps))


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
