r"""IS / FID / KID of a trained generator: a training run or an exported SavedModel.

  python tools/evaluate.py --model_dir=runs/quickstart --classifier_path=packaged:fashion_mnist
  python tools/evaluate.py --model_dir=DIR --checkpoint=200 --truncation=1.0,0.8,0.5 \
      --output=metrics.json                                    # TF-Hub Inception, a curve
  python tools/evaluate.py --saved_model=DIR/export --dataset=fashion_mnist \
      --classifier_path=/tmp/fmnist_classifier --intra_class
  python tools/evaluate.py --model_dir=DIR --latent_steps=10      # LOGAN, Wu et al. 2019, App. B

The generator is either the run's trainer (rebuilt from `operative_config.gin` and the newest
checkpoint, or --checkpoint, as tools/export.py does) or an exported SavedModel
(`serving_default(z, labels) -> {"images"}`). Real statistics come from --real_stats (a .npz of
tools/compute_fid_stats.py) or are computed once from --dataset/--split (default: the run's data
set) and cached. With a classifier other than Inception every number is labelled with it, e.g.
"FID (fashion-mnist classifier)", and the JSON has its identity in `classifier`.
"""

import json
import math
import os

from absl import app
from absl import flags

from tfgan_fast.run import cli
from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "A training run's directory.")
flags.DEFINE_string("checkpoint", None, "With --model_dir: step number or checkpoint path "
                    "(default: newest).")
flags.DEFINE_string("saved_model", None, "An exported generator SavedModel (instead of "
                    "--model_dir).")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings applied after the run's config.")
flags.DEFINE_string("classifier_path", None,
                    "SavedModel of a classifier (tools/train_classifier.py), or "
                    "packaged:fashion_mnist for the one shipped in the package; default: TF-Hub "
                    "Inception. A local copy of the Inception module needs --inception.")
flags.DEFINE_bool("inception", False, "--classifier_path is a local copy of TF-GAN's Inception.")
flags.DEFINE_string("real_stats", None, "A .npz of real statistics (tools/compute_fid_stats.py).")
flags.DEFINE_string("dataset", None, "Real data set for the statistics (default: the run's): "
                    "cifar10, cifar100, fashion_mnist, quickstart.")
flags.DEFINE_string("split", "train", "Real data split.")
flags.DEFINE_string("cache_dir", None, "Statistics cache (default ~/.cache/tfgan_fast/fid_stats).")
flags.DEFINE_integer("num_samples", 5000, "Generated images per evaluation.")
flags.DEFINE_integer("fid_num_samples", None, "FID, KID and the manifold metrics on only the first "
                     "this many generated images, IS on all (the FastGAN paper's CIFAR "
                     "convention: --num_samples=50000 --fid_num_samples=5000).")
flags.DEFINE_integer("splits", 10, "IS splits.")
flags.DEFINE_integer("batch_size", 100, "Images per generator / classifier call.")
flags.DEFINE_list("truncation", ["1.0"], "Comma-separated latent scales (Wu et al. 2019, Fig. 3b).")
flags.DEFINE_bool("intra_class", False, "Also FID per class (needs per-class real statistics).")
flags.DEFINE_integer("seed", 0, "Evaluation seed.")
flags.DEFINE_enum("generator", "auto", ["auto", "ema", "raw"], "With --model_dir: the EMA of G "
                  "(run.ema), G itself, or auto: the EMA when the run keeps one.")
flags.DEFINE_integer("num_classes", None, "With --saved_model: C (default: the real data set's).")
flags.DEFINE_enum("latent", "normal", ["normal", "uniform"],
                  "With --saved_model: the latent distribution it was trained with.")
flags.DEFINE_string("output", None, "Write the results as JSON here.")
flags.DEFINE_bool("cas", False, "Also the classification accuracy score: a small CNN trained on "
                  "generated images, tested on the real test split of --dataset (or the run's "
                  "data set); its recipe is gin-configurable (classification_accuracy_score.*).")
flags.DEFINE_integer("cas_per_class", 1000, "With --cas: generated training images per class.")
flags.DEFINE_integer("latent_steps", 0, "With --model_dir of a LOGAN run: latent optimisation "
                     "steps on every sample (after truncation) with the run's D (Wu et al. "
                     "2019, App. B).")


def _load_run():
    """Trainer-based generator: `(sample_fn, z_dim, C, latent_sampler, info, data)`."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tfgan_fast.run import config  # pylint: disable=import-outside-toplevel
    # Registers Evaluator & co. with gin before the run's config (which may bind them) is parsed.
    from tfgan_fast import eval as eval_lib  # noqa: F401  pylint: disable=import-outside-toplevel
    from tfgan_fast.run import experiment  # pylint: disable=import-outside-toplevel

    config_path = os.path.join(FLAGS.model_dir, "operative_config.gin")
    if not os.path.isfile(config_path):
        raise app.UsageError(f"--model_dir={FLAGS.model_dir}: no operative_config.gin there; "
                             "is it a tfgan_fast training directory?")
    checkpoint = experiment.resolve_checkpoint(FLAGS.model_dir, FLAGS.checkpoint)
    # This tool evaluates on its own terms: the run's own evaluator is not built.
    config.parse([config_path], list(FLAGS.gin_param) + ["run.evaluator = None"])
    exp = experiment.build(FLAGS.model_dir, checkpoint_path=checkpoint)
    if exp.start_step == 0 and not checkpoint:
        raise app.UsageError(f"--model_dir={FLAGS.model_dir} has no checkpoint to evaluate")
    trainer = exp.trainer
    info = {"model_dir": os.path.abspath(FLAGS.model_dir), "step": exp.start_step}
    latent_transform = None
    if FLAGS.latent_steps:
        if getattr(trainer, "latent_transform", None) is None:
            raise app.UsageError(f"--latent_steps={FLAGS.latent_steps} needs a LOGAN run; "
                                 f"{FLAGS.model_dir} trained {type(trainer).__name__}")
        latent_transform = tf.function(trainer.sampling_latent_transform(FLAGS.latent_steps))
    ema = getattr(trainer, "ema", None)
    if FLAGS.generator == "ema" and ema is None:
        raise app.UsageError(f"--generator=ema: {FLAGS.model_dir} keeps no EMA of G (run.ema)")
    use_ema = ema is not None and FLAGS.generator != "raw"
    info["generator"] = ema.describe() if use_ema else "G"
    generate = trainer.generate_ema if use_ema else trainer.generate
    return (tf.function(generate), trainer.z_dim, trainer.num_classes,
            trainer.latent_sampler, info, exp.data, latent_transform)


def _load_saved_model():
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tfgan_fast.export import saved_model as export  # pylint: disable=import-outside-toplevel
    from tfgan_fast.algorithms import latents  # pylint: disable=import-outside-toplevel

    path = export.resolve_saved_model(FLAGS.saved_model)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    inputs = serve.structured_input_signature[1]
    try:
        z_dim = export.export_metadata(path, serve)["z_dim"]
    except ValueError as e:
        raise app.UsageError(str(e)) from e

    def sample_fn(z, labels):
        if "labels" not in inputs:  # an unconditional model takes z alone
            return serve(z=z)["images"]
        return serve(z=z, labels=labels)["images"]

    sampler = latents.uniform_latents if FLAGS.latent == "uniform" else latents.normal_latents
    return sample_fn, z_dim, FLAGS.num_classes, sampler, {
        "saved_model": os.path.abspath(path)}, None, None


def _line(result, classifier):
    steps = f", {result['latent_steps']} latent steps" if result.get("latent_steps") else ""
    text = (f"truncation {result['truncation']:g}{steps}: {classifier.qualify('FID')} "
            f"{result['fid']:.3f}, {classifier.qualify('IS')} {result['is_mean']:.3f}"
            f"±{result['is_std']:.3f}, {classifier.qualify('KID')} {result['kid']:.5f}"
            f"±{result['kid_std']:.5f}")
    if "intra_fid_mean" in result:
        text += f", {classifier.qualify('intra-class FID')} {result['intra_fid_mean']:.3f}"
    if result.get("class_acc") is not None:
        text += f", class accuracy {100 * result['class_acc']:.1f}%"
    if result.get("cas") is not None:
        text += f", CAS {100 * result['cas']:.1f}% ({result['cas_train_images']} generated)"
    if result.get("precision") is not None:
        text += (f", precision {result['precision']:.3f}, recall {result['recall']:.3f}, "
                 f"density {result['density']:.3f}, coverage {result['coverage']:.3f}")
    generator = f"; generator: {result['generator']}" if result.get("generator") else ""
    return text + f" ({result['seconds']:.0f} s) [{result['convention']}{generator}]"


def _per_class_table(result, class_names=None):
    """Per-class precision / recall (and intra-class FID) as an aligned text table, or ''."""
    if result.get("class_precision") is None:
        return ""
    intra = result.get("intra_fid")
    names = list(class_names or [])
    rows = [("class", "precision", "recall") + (("intra-class FID",) if intra else ())]
    for c, (p, r) in enumerate(zip(result["class_precision"], result["class_recall"])):
        name = f"{c} {names[c]}" if c < len(names) else str(c)
        rows.append((name, f"{p:.3f}", f"{r:.3f}") + ((f"{intra[c]:.3f}",) if intra else ()))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip()
                     for row in rows)


def main(argv):
    del argv
    quiet.quiet_tensorflow()
    if bool(FLAGS.model_dir) == bool(FLAGS.saved_model):
        raise app.UsageError("pass exactly one of --model_dir and --saved_model")
    if FLAGS.latent_steps < 0:
        raise app.UsageError(f"--latent_steps must be >= 0, got {FLAGS.latent_steps}")
    if FLAGS.latent_steps and FLAGS.saved_model:
        raise app.UsageError("--latent_steps needs the run's discriminator: use --model_dir "
                             "(a SavedModel holds only the generator)")
    truncations = [float(t) for t in FLAGS.truncation]
    if any(not 0.0 <= t or not math.isfinite(t) for t in truncations):
        raise app.UsageError(f"--truncation values must be finite and >= 0, got {truncations}")
    # pylint: disable=import-outside-toplevel
    from tfgan_fast.eval import classifiers
    from tfgan_fast.eval import evaluator as evaluator_lib
    from tfgan_fast.eval import stats
    # pylint: enable=import-outside-toplevel

    if FLAGS.model_dir:
        sample_fn, z_dim, num_classes, sampler, info, run_data, transform = _load_run()
    else:
        sample_fn, z_dim, num_classes, sampler, info, run_data, transform = _load_saved_model()
    classifier = classifiers.make_classifier(FLAGS.classifier_path, FLAGS.inception)

    real_data = None
    if FLAGS.real_stats:
        info["real_stats"] = os.path.abspath(FLAGS.real_stats)
    else:
        name = FLAGS.dataset or (run_data.name if run_data is not None else None)
        if name is None:
            raise app.UsageError("--saved_model needs --dataset (or --real_stats) for the real "
                                 "statistics")
        resolution = run_data.image_shape[0] if run_data is not None else None
        real_data = stats.named_data_source(name, FLAGS.split, resolution)
        info.update(dataset=real_data.name, split=FLAGS.split)
    if num_classes is None:
        if real_data is None:
            raise app.UsageError("--saved_model with --real_stats needs --num_classes")
        num_classes = real_data.num_classes

    evaluator = evaluator_lib.Evaluator(
        classifier=classifier, num_samples=FLAGS.num_samples, splits=FLAGS.splits,
        fid_num_samples=FLAGS.fid_num_samples, batch_size=FLAGS.batch_size,
        real_stats_path=FLAGS.real_stats, real_data=real_data,
        real_split=FLAGS.split, stats_cache_dir=FLAGS.cache_dir, intra_class=FLAGS.intra_class,
        latent_steps=FLAGS.latent_steps)
    cas_test = None
    if FLAGS.cas:
        name = FLAGS.dataset or (run_data.name if run_data is not None else None)
        if name is None:
            raise app.UsageError("--cas needs --dataset: its test split is what CAS tests on")
        resolution = run_data.image_shape[0] if run_data is not None else None
        cas_test = stats.named_data_source(name, "test", resolution)
    results = []
    for t in truncations:
        result = evaluator.evaluate(sample_fn, z_dim, num_classes, seed=FLAGS.seed, truncation=t,
                                    latent_sampler=sampler, latent_transform=transform)
        if info.get("generator"):
            result["generator"] = info["generator"]
        if cas_test is not None:
            from tfgan_fast.eval import cas  # pylint: disable=import-outside-toplevel
            result.update(cas.classification_accuracy_score(
                sample_fn, z_dim, num_classes, cas_test, per_class=FLAGS.cas_per_class,
                seed=FLAGS.seed, latent_sampler=sampler, truncation=t))
        print(_line(result, classifier), flush=True)
        table = _per_class_table(result, getattr(real_data or run_data, "class_names", None))
        if table:
            print("per class (precision and recall with k = 3 within each class):\n" + table,
                  flush=True)
        results.append(result)
    report = dict(info, classifier=classifier.identity, classifier_name=classifier.display_name,
                  metric_names={k: classifier.qualify(v) for k, v in
                                (("fid", "FID"), ("is", "IS"), ("kid", "KID"))},
                  results=results)
    text = json.dumps(report, indent=2, allow_nan=True)
    if FLAGS.output:
        with open(FLAGS.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        print(f"Wrote {FLAGS.output}")
    else:
        print(text)


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
