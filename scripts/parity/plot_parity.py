"""FID against iterations for the parity study's runs: each side's mean over seeds with its
range (docs/parity.md).

Developer script. Every GROUP is `LABEL=GLOB`: run directories holding `eval_<step>.json` (as
`tools/evaluate.py --output` and `eval_pool.py` write them); one line per group, the shaded band
spans the seeds' lowest and highest FID at each step, a dot per seed. Groups whose labels share
the text before the first comma (the side) share a colour; a side's later groups are dashed.

    python scripts/parity/plot_parity.py --out=docs/parity_fid.png \
        "--group=authors' code, 1,800-iteration runs=runs/authors1800_s*" \
        "--group=tfgan_fast float32, 1,800-iteration runs=runs/ours1800_f32_s*" ...
"""
import argparse
import glob
import json
import os
import re
import statistics


def load(pattern):
    """`{step: [fid of each seed]}` of the run directories matching `pattern`."""
    by_step = {}
    for run in sorted(glob.glob(pattern)):
        for path in glob.glob(os.path.join(run, "eval_*.json")):
            step = int(re.search(r"eval_(\d+)\.json$", path).group(1))
            with open(path, encoding="utf-8") as f:
                result = json.load(f)
            result = result["results"][0] if "results" in result else result
            by_step.setdefault(step, []).append(result["fid"])
    return by_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", required=True, help="LABEL=GLOB")
    parser.add_argument("--out", required=True)
    parser.add_argument("--title", default="FastGAN on Fashion-MNIST: authors' code against "
                        "tfgan_fast, iteration for iteration")
    args = parser.parse_args()
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    fig, ax = plt.subplots(figsize=(8.0, 4.6), dpi=100)
    colours, groups_of_side = {}, {}
    for spec in args.group:
        label, pattern = spec.split("=", 1)
        side = label.split(",")[0]
        colour = f"C{colours.setdefault(side, len(colours)) % 10}"
        linestyle = ("-", "--", ":")[groups_of_side.get(side, 0) % 3]
        groups_of_side[side] = groups_of_side.get(side, 0) + 1
        by_step = load(pattern)
        if not by_step:
            raise SystemExit(f"--group={spec!r}: no eval_<step>.json under {pattern!r}")
        steps = sorted(by_step)
        seeds = max(len(v) for v in by_step.values())
        ax.plot(steps, [statistics.mean(by_step[s]) for s in steps], marker="o", color=colour,
                linestyle=linestyle, label=f"{label} ({seeds} seeds)")
        ax.fill_between(steps, [min(by_step[s]) for s in steps],
                        [max(by_step[s]) for s in steps], color=colour, alpha=0.12, linewidth=0)
        for s in steps:
            ax.scatter([s] * len(by_step[s]), by_step[s], s=8, color=colour, alpha=0.6)
    ax.set_xlabel("iteration (one G update each)")
    ax.set_ylabel("FID (packaged Fashion-MNIST classifier, 10k samples)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(args.title, fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
