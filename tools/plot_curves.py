r"""Convergence curves of several runs from their metrics.csv, as a PNG (Zhong et al. 2020, Fig. 1).

  python tools/plot_curves.py runs/fastgan runs/sngan --metric=fid --x=seconds \
      --output=curves.png
  python tools/plot_curves.py runs/a runs/b --labels=FastGAN,SNGAN --metric=is_mean --x=steps

Each run directory holds the `metrics.csv` written by `EvaluationCallback` during training.
`--x`: `seconds` (training wall clock, evaluations excluded), `steps` (iterations) or `images`
(real images seen). Curves under different classifiers are not comparable: runs whose
`classifier` columns differ are refused unless --classifier picks one. The y-axis is labelled
with the classifier, e.g. "FID (fashion-mnist classifier)".

Needs matplotlib (`pip install 'tfgan_fast[plot]'` or `pip install matplotlib`); imported only
here, so nothing else in tfgan_fast depends on it.
"""


from absl import app
from absl import flags

from tfgan_fast.run import cli

FLAGS = flags.FLAGS
flags.DEFINE_enum("metric", "fid", ["fid", "is_mean", "kid"], "Metric on the y-axis.")
flags.DEFINE_enum("x", "seconds", ["seconds", "steps", "images"], "Quantity on the x-axis.")
flags.DEFINE_string("output", "curves.png", "PNG to write.")
flags.DEFINE_list("labels", None, "Legend labels, one per run (default: directory names).")
flags.DEFINE_string("classifier", None, "Plot only rows of this classifier identity.")
flags.DEFINE_string("title", None, "Figure title.")
flags.DEFINE_bool("log_y", False, "Logarithmic y-axis.")


def main(argv):
    run_dirs = argv[1:]
    if not run_dirs:
        raise app.UsageError("name at least one run directory")
    if FLAGS.labels and len(FLAGS.labels) != len(run_dirs):
        raise app.UsageError(f"--labels has {len(FLAGS.labels)} entries for {len(run_dirs)} "
                             "runs")
    from tfgan_fast.eval import curves as curves_lib  # pylint: disable=import-outside-toplevel
    try:
        curves, identity = curves_lib.load_curves(run_dirs, FLAGS.metric, FLAGS.x,
                                                  FLAGS.classifier)
    except ValueError as e:
        raise app.UsageError(str(e)) from e
    try:
        path = curves_lib.plot_curves(curves, identity, FLAGS.metric, FLAGS.x, FLAGS.output,
                                      FLAGS.labels, FLAGS.title, FLAGS.log_y)
    except ImportError as e:
        raise SystemExit(str(e)) from e
    print(f"Wrote {path} ({len(curves)} runs, classifier {identity})")


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
