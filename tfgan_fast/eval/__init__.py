"""Evaluation: IS / FID / KID through TF-GAN, classifiers, real-statistics cache, callback.

    classifiers.py  InceptionClassifier (TF-Hub or local copy), SavedModelClassifier,
                    KerasClassifier: images [-1, 1] -> (logits, features), each with an identity
    metrics.py      inception_score, fid_from_activations, fid_from_stats, kid, activation_stats
    features.py     batched classifier outputs of a generator or a tf.data set (progress bar)
    stats.py        real statistics as .npz, cached per (data set, split, classifier identity)
    evaluator.py    Evaluator.evaluate(sample_fn, ...) -> {is_mean, is_std, fid, kid, ...}
    callback.py     EvaluationCallback: periodic evaluation, metrics.csv, TensorBoard, best ckpt
    curves.py       convergence curves from runs' metrics.csv (matplotlib only when plotting)
    small_classifier.py  the small CNN of tools/train_classifier.py and its SavedModel export
    packaged.py     the shipped Fashion-MNIST classifier and its real statistics (offline)
    tfgan_compat.py tfgan(): `import tensorflow_gan` on TF without tf.estimator

Importing this package registers the gin configurables `Evaluator`, `InceptionClassifier`,
`SavedModelClassifier` and `KerasClassifier`; TF-GAN and TF-Hub are imported only when used.
"""
from tfgan_fast.eval.callback import EvaluationCallback
from tfgan_fast.eval.callback import read_metrics
from tfgan_fast.eval.classifiers import Classifier
from tfgan_fast.eval.classifiers import ClassifierError
from tfgan_fast.eval.classifiers import InceptionClassifier
from tfgan_fast.eval.classifiers import KerasClassifier
from tfgan_fast.eval.classifiers import SavedModelClassifier
from tfgan_fast.eval.evaluator import Evaluator
from tfgan_fast.eval.metrics import activation_stats
from tfgan_fast.eval.metrics import fid_from_activations
from tfgan_fast.eval.metrics import fid_from_stats
from tfgan_fast.eval.metrics import inception_score
from tfgan_fast.eval.metrics import kid
from tfgan_fast.eval.stats import StatsError
from tfgan_fast.eval.stats import compute_real_stats
from tfgan_fast.eval.stats import load_or_compute
from tfgan_fast.eval.stats import load_stats
from tfgan_fast.eval.stats import save_stats
from tfgan_fast.eval.tfgan_compat import tfgan
from tfgan_fast.eval import packaged  # registers packaged_classifier_path / _stats_path
from tfgan_fast.eval import synthetic  # 2-D metrics, registers synthetic_evaluation
from tfgan_fast.eval import cas  # registers classification_accuracy_score
from tfgan_fast.eval import manifold  # precision / recall, density / coverage

__all__ = [
    "Classifier",
    "ClassifierError",
    "EvaluationCallback",
    "Evaluator",
    "InceptionClassifier",
    "KerasClassifier",
    "SavedModelClassifier",
    "StatsError",
    "activation_stats",
    "compute_real_stats",
    "fid_from_activations",
    "fid_from_stats",
    "inception_score",
    "kid",
    "load_or_compute",
    "load_stats",
    "read_metrics",
    "save_stats",
    "tfgan",
]
