r"""Size on disk and time per image of each format of an export (SavedModel, ONNX, LiteRT).

  python -m tfgan_fast.tools.benchmark_export --export=runs/quickstart/export
  python -m tfgan_fast.tools.benchmark_export --export=DIR/export/1200 --batch=1 --batch=64

Each runtime (TensorFlow for the SavedModel, ONNX Runtime, the LiteRT interpreter) runs the same
latents and labels: one untimed call, then `--rounds` timed calls per batch size; the median
call over the batch size is the time per image. The load average is printed with the figures:
measure on a quiet machine (another process on the cores slows every runtime differently).
"""

import os
import statistics
import time

from absl import app
from absl import flags

from tfgan_fast.run import cli
from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_string("export", None, "DIR/export (its newest version) or DIR/export/<version>.")
flags.DEFINE_multi_integer("batch", [1, 16], "Batch sizes to time.")
flags.DEFINE_integer("rounds", 20, "Timed calls per batch size and format.")
flags.DEFINE_integer("threads", 0, "Threads per runtime (0: each runtime's default).")
flags.mark_flags_as_required(["export"])


def _size(path, others=()):
    """Bytes of a file, or of a directory's files less `others` (the files of the other
    formats, which sit in the SavedModel's directory)."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path)
               for f in files if os.path.join(d, f) not in others)


def _runners(path, num_classes, threads):
    """`{name: (path on disk, fn(z, labels) -> images)}` for the formats present."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    # pylint: disable-next=import-outside-toplevel
    from tfgan_fast.export import formats as export_formats

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    serve = tf.saved_model.load(path).signatures["serving_default"]

    def saved_model(z, labels):
        feeds = {"z": tf.constant(z)}
        if num_classes:
            feeds["labels"] = tf.constant(labels)
        return serve(**feeds)["images"].numpy()

    runners = {"SavedModel (TensorFlow)": (path, saved_model)}
    onnx_path = os.path.join(path, export_formats.FILES["onnx"])
    if os.path.isfile(onnx_path):
        import onnxruntime  # pylint: disable=import-outside-toplevel

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(onnx_path, options,
                                               providers=["CPUExecutionProvider"])

        def onnx(z, labels):
            return session.run(["images"], {"z": z, "labels": labels} if num_classes
                               else {"z": z})[0]
        runners["ONNX (onnxruntime)"] = (onnx_path, onnx)
    litert_path = os.path.join(path, export_formats.FILES["litert"])
    if os.path.isfile(litert_path):
        from ai_edge_litert.interpreter import Interpreter  # pylint: disable=import-outside-toplevel

        interpreter = Interpreter(model_path=litert_path, num_threads=threads or None)

        def litert(z, labels):
            return export_formats.run_litert(interpreter, z, labels if num_classes else None)
        runners["LiteRT (ai-edge-litert)"] = (litert_path, litert)
    return runners


def main(argv):
    quiet.quiet_tensorflow()
    del argv
    from tfgan_fast.export import saved_model as export  # pylint: disable=import-outside-toplevel
    from tfgan_fast.export import serving  # pylint: disable=import-outside-toplevel

    import numpy as np  # pylint: disable=import-outside-toplevel

    if any(b < 1 for b in FLAGS.batch) or FLAGS.rounds < 1:
        raise app.UsageError(f"--batch={FLAGS.batch} and --rounds={FLAGS.rounds} must be >= 1")
    path = export.resolve_saved_model(FLAGS.export)
    meta = export.read_metadata(path)
    num_classes = int(meta["num_classes"])
    runners = _runners(path, num_classes, FLAGS.threads)
    load = os.getloadavg()
    print(f"{path}: z {meta['z_dim']}, samples {meta['image_shape']}, {num_classes} classes; "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
          + (" (busy: measure again on a quiet machine)" if load[0] > 0.25 * os.cpu_count()
             else ""))
    print(f"{'format':26s} {'size on disk':>14s}" + "".join(
        f"  {'ms/image at N=' + str(b):>18s}" for b in FLAGS.batch))
    for name, (file, run) in runners.items():
        cells = []
        for batch in FLAGS.batch:
            z = serving.latents(batch, int(meta["z_dim"]), seed=batch)
            labels = (np.arange(batch) % max(num_classes, 1)).astype(np.int32)
            run(z, labels)  # untimed: allocation, graph warm-up
            times = []
            for _ in range(FLAGS.rounds):
                start = time.perf_counter()
                run(z, labels)
                times.append(time.perf_counter() - start)
            cells.append(1e3 * statistics.median(times) / batch)
        others = {f for f, _ in runners.values() if f != file}
        print(f"{name:26s} {_size(file, others) / 1e6:11.2f} MB" + "".join(
            f"  {ms:18.3f}" for ms in cells), flush=True)


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
