r"""Train the small CNN classifier used for IS / FID / KID on our own data sets.

  python tools/train_classifier.py --dataset=fashion_mnist --output=/tmp/fmnist_classifier
  python tools/train_classifier.py --dataset=fashion_mnist --output=/tmp/c --epochs=1 \
      --max_examples=512 --max_test_examples=256        # a smoke test in seconds
  python tools/train_classifier.py --image_folder=/data/my_images --output=/data/my_classifier

With `--image_folder` (your own images, ROOT/<class>/<image>), a tenth of each class, chosen by
a hash of the file names, is held out as the test split; the classifier then evaluates a run on
that data: `--gin_param="Evaluator.classifier = @SavedModelClassifier()"
--gin_param="SavedModelClassifier.path = '/data/my_classifier'"`.

Trains on the train split (no augmentation), reports the test-split accuracy and writes a
SavedModel (`serving_default(images) -> {logits, features}`, images float32 [-1, 1] at the data
set's resolution) with `tfgan_fast_classifier.json` next to it. Use it with
`--classifier_path=PATH` in tools/evaluate.py and tools/compute_fid_stats.py, or
`Evaluator.classifier = @SavedModelClassifier()` + `SavedModelClassifier.path = 'PATH'` in gin.
Metrics under it are named after it, e.g. "FID (fashion-mnist classifier)".
"""

import os
import time

from absl import flags

from tfgan_fast.run import cli
from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "fashion_mnist",
                    "fashion_mnist, cifar10, cifar100 (anything with train and test splits).")
flags.DEFINE_string("output", None, "Where to write the classifier SavedModel (default: "
                    "~/.cache/tfgan_fast/classifiers/<dataset>, where gin/eval/*.gin look).")
flags.DEFINE_string("image_folder", None, "Train on your own images instead of --dataset: "
                    "ROOT/<class>/<image>.png|jpg, a tenth of each class held out for the test.")
flags.DEFINE_integer("channels", 3, "With --image_folder: 3 (RGB) or 1 (grayscale).")
flags.DEFINE_integer("epochs", 4, "Training epochs.")
flags.DEFINE_integer("batch_size", 128, "Training batch size.")
flags.DEFINE_float("learning_rate", 2e-3, "Adam learning rate (cosine-decayed).")
flags.DEFINE_integer("width", 16, "Base width of the CNN.")
flags.DEFINE_integer("resolution", None, "Image size (default: 32 for Fashion-MNIST, native "
                     "for TFDS); must match the generator's.")
flags.DEFINE_integer("max_examples", None, "Train on at most this many examples.")
flags.DEFINE_integer("max_test_examples", None, "Test on at most this many examples.")
flags.DEFINE_integer("seed", 0, "Seed of the initialisation and data order.")


def main(argv):
    quiet.quiet_tensorflow()
    del argv
    from tfgan_fast.eval import small_classifier  # pylint: disable=import-outside-toplevel
    from tfgan_fast.eval import stats  # pylint: disable=import-outside-toplevel

    if FLAGS.image_folder:
        from tfgan_fast import data  # pylint: disable=import-outside-toplevel
        train, test = (data.ImageFolder(path=FLAGS.image_folder, resolution=FLAGS.resolution or 32,
                                        channels=FLAGS.channels, split=split, verbose=False)
                       for split in ("train", "test"))
        name = train.name  # the folder's name
    else:
        train = stats.named_data_source(FLAGS.dataset, "train", FLAGS.resolution)
        test = stats.named_data_source(FLAGS.dataset, "test", FLAGS.resolution)
        name = FLAGS.dataset
    t0 = time.time()
    model, accuracy, num_train, num_test = small_classifier.train_small_classifier(
        train, test, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate, max_examples=FLAGS.max_examples,
        max_test_examples=FLAGS.max_test_examples, width=FLAGS.width, seed=FLAGS.seed)
    seconds = time.time() - t0
    display = f"{name.replace('_', '-')} classifier"
    output = FLAGS.output or os.path.join(
        os.path.expanduser("~/.cache/tfgan_fast/classifiers"), name)
    path, meta = small_classifier.export_classifier(model, output, {
        "identity": f"{name}_cnn:{_digest(model)}",
        "display_name": display,
        "dataset": name,
        "test_accuracy": accuracy,
        "num_train": num_train,
        "num_test": num_test,
        "epochs": FLAGS.epochs,
        "train_seconds": round(seconds, 1),
    })
    print(f"Trained the {display} on {num_train} images in {seconds:.0f} s: test accuracy "
          f"{accuracy:.4f} on {num_test} images. Wrote {path} (identity {meta['identity']}).")


def _digest(model):
    from tfgan_fast.eval import classifiers  # pylint: disable=import-outside-toplevel
    return classifiers.weights_digest(model)


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
