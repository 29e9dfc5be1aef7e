"""`Evaluator`: IS, FID and KID of a generator against cached real statistics.

    evaluator = Evaluator(classifier=SavedModelClassifier("/tmp/fmnist_classifier"),
                          real_data=FashionMNIST(augment=False), num_samples=5000)
    result = evaluator.evaluate(trainer.generate, z_dim=128, num_classes=10, seed=0)
    # {"is_mean": ..., "is_std": ..., "fid": ..., "kid": ..., "classifier": "...", ...}

Gin: `Evaluator.classifier = @SavedModelClassifier()` with `SavedModelClassifier.path = '...'`,
`Evaluator.real_data = @eval/FashionMNIST` with `eval/FashionMNIST.augment = False`.
"""

import inspect
import time

import gin
import numpy as np
import tensorflow as tf

from tfgan_fast.algorithms.latents import normal_latents
from tfgan_fast.eval import classifiers as classifiers_lib
from tfgan_fast.eval import features as features_lib
from tfgan_fast.eval import manifold as manifold_lib
from tfgan_fast.eval import metrics
from tfgan_fast.eval import stats as stats_lib


def class_accuracy(logits, labels, num_classes):
    """Fraction of generated samples whose classifier argmax is their conditioning label.

    A class-conditional generator is only useful if its samples show the class asked for; on a
    data set whose classifier has the same classes this measures it directly (the auxiliary
    classifier's own accuracy would be judged by the network G was trained against).

    Args:
        logits: `[N, K]` classifier logits of the samples.
        labels: int `[N]` conditioning labels, or None (unconditional).
        num_classes: C of the generator.

    Returns:
        A float in [0, 1], or None when `labels` is None or `K != C`.
    """
    if labels is None or not num_classes or logits.shape[-1] != num_classes:
        return None
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(labels)))


@gin.configurable
class Evaluator:
    """Samples a generator, runs a classifier and compares with real statistics.

    Args:
        classifier: a `classifiers.Classifier`; None builds `InceptionClassifier()` (TF-Hub) when
            the evaluator is first prepared.
        num_samples: generated images per evaluation during training.
        final_num_samples: generated images of the run's final evaluation (default
            `num_samples`): the papers measure their reported figures on more samples than a
            training-time curve can afford (Zhong et al. 2020, App. B.3: IS on 50k everywhere).
        fid_num_samples: FID, KID and the manifold metrics use only the first this many
            generated images (default all), IS all of them: the FastGAN paper's CIFAR figures
            are IS on 50k and FID on 5k generated images.
        splits: IS splits.
        batch_size: images per generator / classifier call.
        real_stats_path: a `.npz` written by `stats.save_stats` (tools/compute_fid_stats.py).
        real_data: a data source with `augment=False`, or a factory of one (built when the
            evaluator is prepared); its statistics are computed once and cached
            (used when `real_stats_path` is None).
        real_split: the split name of `real_data` (cache key).
        real_max_images: limit the real images (default all).
        stats_cache_dir: cache directory (default `stats.default_cache_dir()`).
        real_batch_size: images per classifier call over `real_data`.
        kid_max_block_size: TF-GAN's KID block size.
        intra_class: also FID per class (`intra_fid`, `intra_fid_mean`); needs per-class real
            statistics (`real_data` with labels, or a per-class `.npz`).
        intra_class_samples: generated images per class (default `num_samples // C`).
        progress: progress bars on stderr.
        latent_steps: LOGAN's latent optimisation steps at sampling time (Wu et al. 2019, App. B; 10
            for the CIFAR SN-GAN). `evaluate` then needs a `latent_transform` that runs them
            (`EvaluationCallback` builds it with the trainer's `sampling_latent_transform`).
        use_ema: in a run that keeps an EMA of G (`run.ema`), evaluate the average (the
            records then say "generator: EMA of G (...)"); False: G itself.
        manifold: also improved precision / recall and density / coverage
            (`tfgan_fast.eval.manifold`) between the real statistics' feature sample (2,000
            rows for the packaged Fashion-MNIST statistics, `--kid_rows` of
            tools/compute_fid_stats.py) and as many generated features.
    """

    def __init__(self, classifier=None, num_samples=5000, splits=10, batch_size=100,
                 final_num_samples=None, fid_num_samples=None,
                 real_stats_path=None, real_data=None, real_split="train", real_max_images=None,
                 stats_cache_dir=None, real_batch_size=200, kid_max_block_size=1024,
                 intra_class=False, intra_class_samples=None, progress=True, latent_steps=0,
                 manifold=True, use_ema=True):
        if num_samples < 2 or splits < 1 or splits > num_samples:
            raise ValueError(f"need num_samples >= 2 and 1 <= splits <= num_samples, got "
                             f"{num_samples}, {splits}")
        for name, value in (("final_num_samples", final_num_samples),
                            ("fid_num_samples", fid_num_samples)):
            if value is not None and (not isinstance(value, int) or value < 2):
                raise ValueError(f"Evaluator.{name} must be an integer >= 2 or None, got "
                                 f"{value!r}")
        self._classifier = classifier
        self.num_samples = int(num_samples)
        self.final_num_samples = final_num_samples
        self.fid_num_samples = fid_num_samples
        self.splits = int(splits)
        self.batch_size = int(batch_size)
        self.real_stats_path = real_stats_path
        self.manifold = bool(manifold)
        self.real_data = real_data
        self.real_split = real_split
        self.real_max_images = real_max_images
        self.stats_cache_dir = stats_cache_dir
        self.real_batch_size = int(real_batch_size)
        self.kid_max_block_size = kid_max_block_size
        self.intra_class = bool(intra_class)
        self.intra_class_samples = intra_class_samples
        self.progress = progress
        if not isinstance(latent_steps, int) or latent_steps < 0:
            raise ValueError(f"Evaluator.latent_steps must be an integer >= 0, got "
                             f"{latent_steps!r}")
        self.latent_steps = latent_steps
        self.use_ema = bool(use_ema)
        self._real = None

    @property
    def classifier(self):
        if self._classifier is None:
            self._classifier = classifiers_lib.InceptionClassifier()
        return self._classifier

    @property
    def real_stats(self):
        self.prepare()
        return self._real

    def prepare(self):
        """Loads the classifier and the real statistics (computing and caching them if needed).

        Call it before training starts so that a missing classifier or data set fails at once,
        not at the first evaluation hours later.

        Raises:
            ValueError: neither `real_stats_path` nor `real_data` is set.
            stats.StatsError: the statistics belong to another classifier, or lack per-class
                statistics needed by `intra_class`.
        """
        if self._real is not None:
            return self
        classifier = self.classifier
        if self.real_stats_path:
            record = stats_lib.load_stats(self.real_stats_path, classifier.identity)
            if self.intra_class and not record.get("per_class"):
                raise stats_lib.StatsError(
                    f"{self.real_stats_path} has no per-class statistics, needed for "
                    "intra_class (tools/compute_fid_stats.py --per_class)")
        elif self.real_data is not None:
            if inspect.isclass(self.real_data) or (callable(self.real_data)
                                                   and not hasattr(self.real_data, "make")):
                # A factory (`@eval/TFDSImages` without parentheses, which gin passes as the
                # class): built here, after the training data, so that a missing data set is
                # reported as the user's source.
                self.real_data = self.real_data()
            record, _ = stats_lib.load_or_compute(
                self.real_data, classifier, self.real_split, cache_dir=self.stats_cache_dir,
                max_images=self.real_max_images, batch_size=self.real_batch_size,
                per_class=self.intra_class, progress=self.progress)
        else:
            raise ValueError("Evaluator needs real statistics: set Evaluator.real_stats_path "
                             "(a .npz from tools/compute_fid_stats.py) or Evaluator.real_data "
                             "(a data source with augment=False)")
        self._real = record
        return self

    def evaluate(self, sample_fn, z_dim, num_classes, seed=0, truncation=1.0,
                 latent_sampler=None, latent_transform=None, intra_class=None, final=False):
        """Evaluates one generator.

        Args:
            sample_fn: `fn(z [B, z_dim], labels int32 [B] or None) -> images [B, H, W, C]` in
                [-1, 1] (`trainer.generate`), or a dict with "images" (an exported signature).
            z_dim: latent size.
            num_classes: C (0 for unconditional generators).
            seed: seeds latents and labels; the same seed gives the same samples.
            truncation: latents are scaled by this factor (Wu et al. 2019, Fig. 3b; 0 gives z = 0).
            latent_sampler: `fn(shape, seed) -> z` (default `normal_latents`; LOGAN uses
                `uniform_latents`).
            latent_transform: `fn(z, labels) -> z` after truncation, e.g. LOGAN's latent steps
                at sampling time (Wu et al. 2019, App. B).
            intra_class: overrides the constructor's `intra_class`.
            final: the run's final evaluation (`final_num_samples` generated images).

        Returns:
            dict with `is_mean`, `is_std`, `fid`, `kid`, `kid_std` (standard error over KID
            blocks; NaN with a single block), `class_acc` (the fraction of samples the
            classifier assigns to the class they were generated for; None when the generator
            is unconditional or the classifier has other classes), `classifier` (identity),
            `classifier_name` (display name, None for Inception), `num_samples`, `seconds`,
            `truncation`, `seed`; with `manifold` also `precision`, `recall`, `density`,
            `coverage` and `manifold_samples`, and for a class-conditional generator whose
            real statistics have `kid_labels`, `class_precision` and `class_recall` (lists,
            one per class); with intra-class also `intra_fid` (list, one per
            class; NaN for classes with fewer than 2 real images) and `intra_fid_mean`.
        """
        t0 = time.time()
        if self.latent_steps and latent_transform is None:
            raise ValueError(
                f"Evaluator.latent_steps={self.latent_steps} needs a latent_transform that runs "
                "them (a LOGAN trainer's sampling_latent_transform(steps)); got None")
        self.prepare()
        real = self._real
        classifier = self.classifier
        intra = self.intra_class if intra_class is None else bool(intra_class)
        sampler = latent_sampler or normal_latents
        common = dict(z_dim=z_dim, num_classes=num_classes, batch_size=self.batch_size,
                      seed=seed, truncation=truncation, latent_sampler=sampler,
                      latent_transform=latent_transform, progress=self.progress)
        n_is, n_fid = self.sample_counts(final)
        gen = features_lib.generated_outputs(sample_fn, classifier, n_is,
                                             desc=f"generating (truncation {truncation:g})",
                                             **common)
        is_mean, is_std = metrics.inception_score(gen.logits, self.splits)
        convention = self.convention(sample_fn, z_dim, num_classes, final)
        fid_features = gen.features[:n_fid]
        mu, sigma = metrics.activation_stats(fid_features)
        kid, kid_std = metrics.kid(real["kid_features"], fid_features,
                                   max_block_size=self.kid_max_block_size, return_std=True)
        result = {
            "is_mean": is_mean,
            "is_std": is_std,
            "fid": metrics.fid_from_stats(real["mu"], real["sigma"], mu, sigma),
            "kid": kid,
            "kid_std": kid_std,
            "class_acc": class_accuracy(gen.logits, gen.labels, num_classes),
            "classifier": classifier.identity,
            "classifier_name": classifier.display_name,
            "num_samples": n_is,
            "fid_num_samples": n_fid,
            "truncation": float(truncation),
            "seed": int(seed),
            "latent_steps": self.latent_steps if latent_transform is not None else 0,
            "convention": convention,
        }
        if self.manifold and real.get("kid_features") is not None:
            result.update(self._manifold(real["kid_features"], fid_features))
            if num_classes and gen.labels is not None and real.get("kid_labels") is not None:
                result.update(self._manifold_per_class(
                    real["kid_features"], real["kid_labels"], fid_features,
                    gen.labels[:n_fid], num_classes))
        if intra:
            result.update(self._intra_class(sample_fn, num_classes, common))
        result["seconds"] = time.time() - t0
        return result

    def sample_counts(self, final=False):
        """(generated images for IS, the first so many of them for FID / KID / manifold)."""
        n = self.final_num_samples if final and self.final_num_samples else self.num_samples
        return n, min(n, self.fid_num_samples or n)

    def convention(self, sample_fn, z_dim, num_classes, final=False):
        """How the figures were measured, as one line: the real statistics (data set, split,
        images), the generated sample count and the resizing to the classifier's input. FIDs
        are comparable only under one convention (resize implementations alone change FID:
        Parmar, Zhang, Zhu, "On Aliased Resizing and Surprising Subtleties in GAN Evaluation",
        CVPR 2022)."""
        real = self._real or {}
        n_is, n_fid = self.sample_counts(final)
        generated = str(n_is) if n_is == n_fid else f"{n_is} (IS), first {n_fid} (FID)"
        z = tf.zeros([1, z_dim])
        labels = tf.zeros([1], tf.int32) if num_classes else None
        out = sample_fn(z, labels)
        shape = tuple((out["images"] if isinstance(out, dict) else out).shape[1:3])
        want = tuple(self.classifier.input_shape[:2])
        resize = ("no resize" if None in want or want == shape else
                  f"bilinear resize {shape[0]}x{shape[1]} -> {want[0]}x{want[1]} "
                  "(tf.image.resize, no antialiasing)")
        return (f"real: {real.get('dataset', '?')} {real.get('split', '?')} "
                f"({real.get('num_images', '?')} images); generated: {generated}; {resize}")

    def _manifold(self, real_features, fake_features):
        """Precision, recall (k = 3), density, coverage (k = 5) on as many generated as real
        features (the real statistics' feature sample), so that figures are comparable."""
        n = min(len(real_features), len(fake_features))
        real, fake = np.asarray(real_features)[:n], np.asarray(fake_features)[:n]
        if n <= 5:
            return {}
        return {**manifold_lib.precision_recall(real, fake, k=3),
                **manifold_lib.density_coverage(real, fake, k=5), "manifold_samples": n}

    @staticmethod
    def _manifold_per_class(real, real_labels, fake, fake_labels, num_classes):
        """Precision and recall (k = 3) within each class, on the real feature sample's rows
        of that class against the generated images of that class: a class the generator
        dropped or blurred shows here when the overall figures average it away. NaN for a
        class with too few samples."""
        by_class = manifold_lib.per_class(manifold_lib.precision_recall, real, real_labels,
                                          fake, fake_labels, num_classes, k=3)
        nan = float("nan")
        return {"class_precision": [by_class.get(c, {}).get("precision", nan)
                                    for c in range(num_classes)],
                "class_recall": [by_class.get(c, {}).get("recall", nan)
                                 for c in range(num_classes)]}

    def _intra_class(self, sample_fn, num_classes, common):
        real = self._real
        if not num_classes:
            raise ValueError("intra-class FID needs a class-conditional generator")
        if not real.get("per_class"):
            raise stats_lib.StatsError("the real statistics have no per-class statistics")
        if int(real["class_mu"].shape[0]) != num_classes:
            raise stats_lib.StatsError(f"real per-class statistics have "
                                       f"{real['class_mu'].shape[0]} classes, the generator "
                                       f"{num_classes}")
        n = self.intra_class_samples or max(self.num_samples // num_classes, 2)
        fids = []
        for k in range(num_classes):
            if int(real["class_counts"][k]) < 2:
                fids.append(float("nan"))
                continue
            out = features_lib.generated_outputs(
                sample_fn, self.classifier, n, label=k, desc=f"class {k}", **common)
            mu, sigma = metrics.activation_stats(out.features)
            fids.append(metrics.fid_from_stats(real["class_mu"][k], real["class_sigma"][k],
                                               mu, sigma))
        finite = [f for f in fids if f == f]
        return {"intra_fid": fids,
                "intra_fid_mean": sum(finite) / len(finite) if finite else float("nan")}
