r"""Precompute and cache real-data statistics (mean, covariance, KID subset) for FID / KID.

  python tools/compute_fid_stats.py --dataset=fashion_mnist --split=train \
      --classifier_path=/tmp/fmnist_classifier
  python tools/compute_fid_stats.py --dataset=cifar10 --split=train        # TF-Hub Inception
  python tools/compute_fid_stats.py --dataset=quickstart --classifier_path=PATH --output=s.npz
  python tools/compute_fid_stats.py --dataset=fashion_mnist --split=test \
      --classifier_path=PATH --compare_to=TRAIN.npz     # real-vs-real FID: test vs train

Without --output the file goes to the cache that `Evaluator(real_data=...)` and
tools/evaluate.py read (`~/.cache/tfgan_fast/fid_stats/`, or $TFGAN_FAST_STATS_DIR /
--cache_dir), named after the data set, split and classifier identity. An existing cache file is
reused unless --overwrite.
"""

import json
import os
import time

from absl import flags

from tfgan_fast.run import cli
from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", None, "cifar10, cifar100, fashion_mnist or quickstart.")
flags.DEFINE_string("split", "train", "Data split.")
flags.DEFINE_string("classifier_path", None,
                    "SavedModel of a classifier (tools/train_classifier.py), or "
                    "packaged:fashion_mnist for the one shipped in the package; default: TF-Hub "
                    "Inception. A local copy of the Inception module needs --inception.")
flags.DEFINE_bool("inception", False, "--classifier_path is a local copy of TF-GAN's Inception.")
flags.DEFINE_string("output", None, "Write the .npz here (default: the cache).")
flags.DEFINE_string("cache_dir", None, "Cache directory (default ~/.cache/tfgan_fast/fid_stats).")
flags.DEFINE_integer("resolution", None, "Image size (default 32 for Fashion-MNIST, native "
                     "for TFDS).")
flags.DEFINE_integer("max_images", None, "Use at most this many images (default all).")
flags.DEFINE_integer("batch_size", 200, "Images per classifier call.")
flags.DEFINE_integer("kid_rows", 10000, "Real feature rows kept for KID (the packaged "
                     "statistics keep 2000 to stay small).")
flags.DEFINE_bool("per_class", False, "Also per-class statistics (intra-class FID).")
flags.DEFINE_bool("overwrite", False, "Recompute even if the cache file exists.")
flags.DEFINE_string("compare_to", None, "Another statistics .npz (same classifier): also print "
                    "the real-vs-real FID / KID between the two, the floor a generator can reach.")
flags.mark_flags_as_required(["dataset"])


def main(argv):
    del argv
    quiet.quiet_tensorflow()
    from tfgan_fast.eval import classifiers  # pylint: disable=import-outside-toplevel
    from tfgan_fast.eval import stats  # pylint: disable=import-outside-toplevel

    classifier = classifiers.make_classifier(FLAGS.classifier_path, FLAGS.inception)
    source = stats.named_data_source(FLAGS.dataset, FLAGS.split, FLAGS.resolution)
    path = FLAGS.output or stats.cache_path(source.name, FLAGS.split, classifier.identity,
                                            FLAGS.cache_dir, FLAGS.max_images, FLAGS.per_class)
    if FLAGS.overwrite and os.path.isfile(path):
        os.remove(path)
    t0 = time.time()
    record, path = stats.load_or_compute(
        source, classifier, FLAGS.split, path=path, max_images=FLAGS.max_images,
        batch_size=FLAGS.batch_size, kid_rows=FLAGS.kid_rows, per_class=FLAGS.per_class)
    summary = {k: record[k] for k in ("dataset", "split", "classifier", "num_images", "is_mean",
                                      "is_std")}
    summary.update(path=path, feature_dim=int(record["mu"].shape[0]),
                   kid_rows=int(record["kid_features"].shape[0]),
                   seconds=round(time.time() - t0, 1))
    if FLAGS.compare_to:
        from tfgan_fast.eval import metrics  # pylint: disable=import-outside-toplevel
        other = stats.load_stats(FLAGS.compare_to, classifier.identity)
        summary["compare_to"] = {
            "path": FLAGS.compare_to,
            "dataset": other["dataset"], "split": other["split"],
            "num_images": other["num_images"],
            "metric_names": {"fid": classifier.qualify("FID"), "kid": classifier.qualify("KID")},
            "fid": metrics.fid_from_stats(other["mu"], other["sigma"], record["mu"],
                                          record["sigma"]),
        }
        summary["compare_to"]["kid"], summary["compare_to"]["kid_std"] = metrics.kid(
            other["kid_features"], record["kid_features"], return_std=True)
    print(json.dumps(summary, indent=2))


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
