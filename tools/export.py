r"""Export a trained generator as a SavedModel for TF Serving, and as ONNX or LiteRT files.

  python tools/export.py --model_dir=runs/quickstart --output=/tmp/generator
  python tools/export.py --model_dir=DIR --checkpoint=200 --output=PATH   # ckpt-200
  python tools/export.py --model_dir=DIR --checkpoint=DIR/checkpoints/ckpt-200 --output=PATH
  python tools/export.py --model_dir=DIR --output=PATH --format=onnx --format=litert

`--format` adds `generator.onnx` / `generator.tflite` beside the SavedModel in
OUTPUT/<iteration>/ (docs/export.md); `tflite` is another name for `litert`.

The run's `operative_config.gin` and `data_spec.json` rebuild the networks (the training data
need not be present); the newest checkpoint is used unless `--checkpoint` names one (a step
number or a path).
"""

import os

from absl import app
from absl import flags

from tfgan_fast.run import cli
from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "A training run's directory.")
flags.DEFINE_string("checkpoint", None, "Step number or checkpoint path (default: newest).")
flags.DEFINE_string("output", None, "Export base directory: the SavedModel goes to "
                    "OUTPUT/<iteration>/, the layout TF Serving's --model_base_path reads.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings applied after the run's config.")
flags.DEFINE_multi_string("format", [], "Also write these beside the SavedModel: onnx, litert "
                          "(or tflite); repeat the flag or separate by commas.")
flags.mark_flags_as_required(["model_dir", "output"])


def main(argv):
    quiet.quiet_tensorflow()
    del argv
    if not os.path.isfile(os.path.join(FLAGS.model_dir, "operative_config.gin")):
        raise app.UsageError(f"--model_dir={FLAGS.model_dir}: no operative_config.gin there; "
                             "is it a tfgan_fast training directory?")
    from tfgan_fast.run import experiment  # pylint: disable=import-outside-toplevel
    from tfgan_fast.export import saved_model as export  # pylint: disable=import-outside-toplevel
    # pylint: disable-next=import-outside-toplevel
    from tfgan_fast.export import formats as export_formats

    try:
        formats = export_formats.normalise_formats(",".join(FLAGS.format))
    except ValueError as e:
        raise app.UsageError(f"--format: {e}") from None

    exp = experiment.load_for_tools(FLAGS.model_dir, FLAGS.gin_param, FLAGS.checkpoint)
    if exp.start_step == 0 and not FLAGS.checkpoint:
        raise app.UsageError(f"--model_dir={FLAGS.model_dir} has no checkpoint to export")
    trainer = exp.trainer
    # A network that a format cannot express fails with export_formats.ConversionError, which
    # cli prints as one line naming the op(s) and the format.
    path = export.export_version(
        trainer.generator, FLAGS.output, exp.start_step, trainer.z_dim, trainer.num_classes,
        keep=0, formats=formats, class_names=getattr(exp.data, "class_names", None))
    print(f"Exported iteration {exp.start_step} of {FLAGS.model_dir} to {path}")
    for fmt in formats:
        print(f"  {fmt}: {os.path.join(path, export_formats.FILES[fmt])}")


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
