r"""Export a trained generator as a SavedModel for TF Serving.

  python tools/export.py --model_dir=runs/quickstart --output=/tmp/generator
  python tools/export.py --model_dir=DIR --checkpoint=200 --output=PATH   # ckpt-200
  python tools/export.py --model_dir=DIR --checkpoint=DIR/checkpoints/ckpt-200 --output=PATH

The run's `operative_config.gin` and `data_spec.json` rebuild the networks (the training data
need not be present); the newest checkpoint is used unless `--checkpoint` names one (a step
number or a path).
"""

import os

from absl import app
from absl import flags

from tfgan_fast import cli
from tfgan_fast import quiet

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "A training run's directory.")
flags.DEFINE_string("checkpoint", None, "Step number or checkpoint path (default: newest).")
flags.DEFINE_string("output", None, "Export base directory: the SavedModel goes to "
                    "OUTPUT/<iteration>/, the layout TF Serving's --model_base_path reads.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings applied after the run's config.")
flags.mark_flags_as_required(["model_dir", "output"])


def main(argv):
    quiet.quiet_tensorflow()
    del argv
    if not os.path.isfile(os.path.join(FLAGS.model_dir, "operative_config.gin")):
        raise app.UsageError(f"--model_dir={FLAGS.model_dir}: no operative_config.gin there; "
                             "is it a tfgan_fast training directory?")
    from tfgan_fast import experiment  # pylint: disable=import-outside-toplevel
    from tfgan_fast import export  # pylint: disable=import-outside-toplevel

    exp = experiment.load_for_tools(FLAGS.model_dir, FLAGS.gin_param, FLAGS.checkpoint)
    if exp.start_step == 0 and not FLAGS.checkpoint:
        raise app.UsageError(f"--model_dir={FLAGS.model_dir} has no checkpoint to export")
    trainer = exp.trainer
    path = export.export_version(trainer.generator, FLAGS.output, exp.start_step,
                                 trainer.z_dim, trainer.num_classes, keep=0)
    print(f"Exported iteration {exp.start_step} of {FLAGS.model_dir} to {path}")


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
