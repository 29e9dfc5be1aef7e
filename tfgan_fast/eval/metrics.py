"""IS, FID and KID computed by TF-GAN from classifier outputs, in float64.

All functions take numpy arrays or tensors and return Python floats. They call TF-GAN's
`tfgan.eval` functions (through `tfgan_compat`) with float64 `tf.constant`s: KID rejects numpy
inputs, and float64 keeps FID's matrix square root accurate for 2048-d Inception features.

Definitions (Zhong et al. 2020, App. B.3; docs/evaluation.md):
    IS  = exp(E_x KL(p(y|x) || p(y)))                                  (Salimans et al. 2016)
    FID = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))               (Heusel et al. 2017)
    KID = unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3      (Binkowski et al. 2018)
Covariances are the unbiased (N - 1) estimates, as TF-GAN computes them, so
`fid_from_stats(*activation_stats(a), *activation_stats(b)) == fid_from_activations(a, b)`.
"""

import numpy as np
import tensorflow as tf

from tfgan_fast.eval.tfgan_compat import tfgan

# Rows per chunk in `activation_stats`: bounds the float64 copy to ~160 MB for 2048-d features.
_STATS_CHUNK = 10000


def _as_2d_float64(x, name):
    x = tf.convert_to_tensor(x)
    if x.shape.rank != 2:
        raise ValueError(f"{name} must be 2-D [N, D], got shape {x.shape}")
    return tf.cast(x, tf.float64)


def inception_score(logits, splits=10):
    """IS mean and standard deviation over `splits` disjoint parts, as papers report it.

    The parts are `logits[i*N//splits : (i+1)*N//splits]` (the boundaries of the original
    improved-GAN code, so uneven N gives parts whose sizes differ by at most one); each part's score
    is `tfgan.eval.classifier_score_from_logits`, the std is the population std over parts.

    Args:
        logits: classifier logits `[N, K]` (not probabilities).
        splits: number of parts, `1 <= splits <= N`.

    Returns:
        `(mean, std)` Python floats; with `splits=1` the std is 0.
    """
    logits = _as_2d_float64(logits, "logits")
    n = int(logits.shape[0])
    if not 1 <= splits <= n:
        raise ValueError(f"splits must be in [1, N={n}], got {splits}")
    score = tfgan().eval.classifier_score_from_logits
    scores = np.array([float(score(logits[i * n // splits:(i + 1) * n // splits]))
                       for i in range(splits)])
    return float(scores.mean()), float(scores.std())


def fid_from_activations(activations1, activations2):
    """FID between two sets of classifier features, by `tfgan.eval`.

    Args:
        activations1: `[N1, D]` features (e.g. Inception pool_3 of real images), N1 >= 2.
        activations2: `[N2, D]` features of generated images, N2 >= 2.

    Returns:
        The Frechet distance, a Python float.
    """
    a = _as_2d_float64(activations1, "activations1")
    b = _as_2d_float64(activations2, "activations2")
    return float(tfgan().eval.frechet_classifier_distance_from_activations(a, b))


def _sqrtm_psd(mat):
    """Symmetric PSD square root via `eigh`; round-off negatives are clamped to 0."""
    w, v = tf.linalg.eigh(mat)
    return tf.matmul(v * tf.sqrt(tf.maximum(w, 0.0))[tf.newaxis, :], v, transpose_b=True)


def trace_sqrt_product(sigma1, sigma2):
    """`Tr((S1 S2)^(1/2))` for symmetric PSD `S1`, `S2` `[D, D]`, in float64.

    TF-GAN's own helper of that name is used when `tfgan.eval` exports it (2.1.0 does not). The
    maths is the same as TF-GAN's: with `A = S1^(1/2)`, `S1 S2 = A (A S2)` has the eigenvalues of
    the symmetric PSD `A S2 A`, so the trace is the sum of their square roots. `eigh` replaces
    TF-GAN's SVD because both matrices are symmetric; only eigenvalues of the second are needed.
    """
    sigma1 = tf.convert_to_tensor(sigma1, tf.float64)
    sigma2 = tf.convert_to_tensor(sigma2, tf.float64)
    exported = getattr(tfgan().eval, "trace_sqrt_product", None)
    if exported is not None:
        return float(exported(sigma1, sigma2))
    root = _sqrtm_psd(sigma1)
    inner = tf.matmul(root, tf.matmul(sigma2, root))
    inner = 0.5 * (inner + tf.transpose(inner))  # symmetric up to round-off; eigh assumes exact
    eigenvalues = tf.linalg.eigvalsh(inner)
    return float(tf.reduce_sum(tf.sqrt(tf.maximum(eigenvalues, 0.0))))


def fid_from_stats(mu1, sigma1, mu2, sigma2):
    """FID from means `[D]` and covariances `[D, D]` (e.g. cached real statistics), in float64.

    Returns:
        `||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2))`, a Python float.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    d = mu1.shape[-1]
    for name, value, shape in (("mu1", mu1, (d,)), ("mu2", mu2, (d,)),
                               ("sigma1", sigma1, (d, d)), ("sigma2", sigma2, (d, d))):
        if value.shape != shape:
            raise ValueError(f"{name} has shape {value.shape}, expected {shape} (features of "
                             "both sets must come from the same classifier layer)")
    mean_term = float(np.sum((mu1 - mu2) ** 2))
    return (mean_term + float(np.trace(sigma1)) + float(np.trace(sigma2))
            - 2.0 * trace_sqrt_product(sigma1, sigma2))


def kid(activations1, activations2, max_block_size=1024, return_std=False):
    """KID (unbiased, block estimator) by `tfgan.eval.kernel_classifier_distance_from_activations`.

    Args:
        activations1: `[N1, D]` features.
        activations2: `[N2, D]` features.
        max_block_size: TF-GAN's block size; larger means lower variance and more compute.
        return_std: also return TF-GAN's standard error over blocks, which is NaN when the rows
            fit in one block (`max(N1, N2) <= max_block_size`).

    Returns:
        KID, a Python float (can be slightly negative: the estimator is unbiased); with
        `return_std`, `(kid, std)`.
    """
    # TF-GAN's KID fails on numpy inputs; float64 tensors work eagerly and in tf.function.
    a = tf.constant(_as_2d_float64(activations1, "activations1"))
    b = tf.constant(_as_2d_float64(activations2, "activations2"))
    value, std = tfgan().eval.kernel_classifier_distance_and_std_from_activations(
        a, b, max_block_size=max_block_size)
    return (float(value), float(std)) if return_std else float(value)


def activation_stats(activations):
    """Mean and unbiased covariance of features, in float64 (two passes, chunked).

    Args:
        activations: `[N, D]` features, N >= 2, any float dtype.

    Returns:
        `(mu [D], sigma [D, D])` float64 numpy arrays.
    """
    acts = np.asarray(activations)
    if acts.ndim != 2 or acts.shape[0] < 2:
        raise ValueError(f"activations must be [N >= 2, D], got shape {acts.shape}")
    n = acts.shape[0]
    mu = np.zeros(acts.shape[1], np.float64)
    for i in range(0, n, _STATS_CHUNK):
        mu += acts[i:i + _STATS_CHUNK].astype(np.float64).sum(axis=0)
    mu /= n
    # Centring before the outer product avoids the cancellation of E[xx^T] - mu mu^T.
    sigma = np.zeros((acts.shape[1], acts.shape[1]), np.float64)
    for i in range(0, n, _STATS_CHUNK):
        centred = acts[i:i + _STATS_CHUNK].astype(np.float64) - mu
        sigma += centred.T @ centred
    sigma /= n - 1
    return mu, sigma
