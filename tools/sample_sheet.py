r"""Sample grids of several generators side by side, on the same latents, as one PNG.

  python tools/sample_sheet.py --run=FastGAN=runs/race_methods/fastgan \
      --run=SNGAN=runs/race_methods/sngan --output=docs/race_samples.png --class_names=fashion_mnist

Each `--run=TITLE=PATH` is an exported generator SavedModel, or a run directory holding one
(`DIR/export`, its newest version). Every generator draws `--per_class` images of each class
from the same latents (`--seed`), one row per class, so the grids differ only by the generator:
a class a generator dropped or confuses shows as a row of another class. The titles go above
the grids, the class names (`--class_names=fashion_mnist`, or a comma-separated list) on the
left. The PNG is written with TensorFlow alone.
"""

import os

from absl import app
from absl import flags

from tfgan_fast.run import cli

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("run", [], "TITLE=PATH of an export or a run directory; repeat.")
flags.DEFINE_string("output", "samples.png", "PNG to write.")
flags.DEFINE_integer("per_class", 10, "Images per class (columns of each grid).")
flags.DEFINE_integer("num_classes", None, "C (default: the export's metadata, else 10).")
flags.DEFINE_string("class_names", None, "Row labels: 'fashion_mnist' or a comma-separated list.")
flags.DEFINE_integer("seed", 0, "Seeds the shared latents.")
flags.DEFINE_enum("latent", "normal", ["normal", "uniform"], "Latent distribution.")

_GAP = 4  # grey pixels between grids


def _class_names(num_classes):
    if not FLAGS.class_names:
        return [str(c) for c in range(num_classes)]
    if FLAGS.class_names == "fashion_mnist":
        from tfgan_fast.data import fashion_mnist  # pylint: disable=import-outside-toplevel
        names = list(fashion_mnist.CLASS_NAMES)
    else:
        names = [n.strip() for n in FLAGS.class_names.split(",")]
    if len(names) != num_classes:
        raise app.UsageError(f"--class_names has {len(names)} names for {num_classes} classes")
    return names


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    runs = cli.named_paths(FLAGS.run, name_word="TITLE")
    if FLAGS.per_class < 1:
        raise app.UsageError(f"--per_class={FLAGS.per_class} must be >= 1")
    import numpy as np  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_fast.run import callbacks  # pylint: disable=import-outside-toplevel
    from tfgan_fast.export import saved_model as export  # pylint: disable=import-outside-toplevel
    from tfgan_fast.runtime import quiet  # pylint: disable=import-outside-toplevel
    from tfgan_fast.runtime import textstrip  # pylint: disable=import-outside-toplevel
    quiet.quiet_tensorflow()

    grids, titles, names, latents = [], [], None, None
    for title, path in runs:
        if os.path.isdir(os.path.join(path, "export")):  # a run directory
            path = os.path.join(path, "export")
        saved = export.resolve_saved_model(path)
        serve = tf.saved_model.load(saved).signatures["serving_default"]
        inputs = serve.structured_input_signature[1]
        try:
            meta = export.export_metadata(saved, serve)
        except ValueError as e:
            raise app.UsageError(str(e)) from e
        z_dim = meta["z_dim"]
        num_classes = FLAGS.num_classes or meta.get("num_classes") or 10
        if latents is None:
            shape = [num_classes * FLAGS.per_class, z_dim]
            seed = [FLAGS.seed, 0]
            latents = (tf.random.stateless_uniform(shape, seed, -1.0, 1.0)
                       if FLAGS.latent == "uniform" else tf.random.stateless_normal(shape, seed))
            names = _class_names(num_classes)
        if latents.shape[0] != num_classes * FLAGS.per_class or latents.shape[1] != z_dim:
            raise app.UsageError(f"--run={title}: {num_classes} classes and z of size {z_dim} "
                                 "differ from the first run's; sheet only like generators")
        labels = tf.repeat(tf.range(num_classes, dtype=tf.int32), FLAGS.per_class)
        out = serve(z=latents, labels=labels) if "labels" in inputs else serve(z=latents)
        grids.append(callbacks.image_grid(out["images"].numpy(), num_classes))
        titles.append(title)
        print(f"{title}: {saved}")

    height = max(g.shape[0] for g in grids)
    channels = max(g.shape[2] for g in grids)
    row_height = grids[0].shape[0] // len(names)
    pieces = []
    for i, (grid, title) in enumerate(zip(grids, titles)):
        if grid.shape[2] != channels:
            grid = np.repeat(grid, channels, axis=2)
        if i == 0:
            grid = textstrip.label_rows(grid, names, row_height)
        head = np.zeros([textstrip.GLYPH_HEIGHT + 6, grid.shape[1], channels], np.uint8)
        mask = textstrip.render(title, max_chars=grid.shape[1] // textstrip.ADVANCE)
        left = grid.shape[1] - grids[i].shape[1] if i == 0 else 0
        w = min(mask.shape[1], grid.shape[1] - left - 2)
        head[3:3 + textstrip.GLYPH_HEIGHT, left + 2:left + 2 + w][mask[:, :w]] = 255
        column = np.concatenate([head, grid, np.zeros([height - grid.shape[0], grid.shape[1],
                                                       channels], np.uint8)], axis=0)
        pieces += [column, np.full([column.shape[0], _GAP, channels], 96, np.uint8)]
    sheet = np.concatenate(pieces[:-1], axis=1)
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
    tf.io.write_file(FLAGS.output, tf.io.encode_png(sheet))
    print(f"Wrote {FLAGS.output} ({sheet.shape[1]}x{sheet.shape[0]}, {len(grids)} generators, "
          f"{FLAGS.per_class} per class, seed {FLAGS.seed})")


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
