"""Batch compositions: which samples a D step calls real (`GANTrainer.batch`).

- `StandardBatch`: the N reals are real, N fakes are fake.
- `FakeAsReal`: FARGAN's composition (Tao & Wang 2020, Alg. 1, eq. 10): N1 = N - N0 reals, and
  among f * N0 extra fakes the N0 with the LOWEST D output, counted as real; M fakes are fake.
  N0 = 0 is the 0GP baseline's batch (with `GANTrainer.penalty = @SamplePenalty()`).

Sizes are global (`run.batch_size` is N): each of R replicas takes N/R reals, M/R fakes and
selects N0/R of its own f*N0/R candidates (a per-replica top-k: a global one would need an
all-gather of the candidates), so M and N0 must be divisible by R (checked).
"""

import gin
import tensorflow as tf

from tfgan_fast.runtime import distribute

# TensorBoard's descriptions of what a fake-as-real batch adds to the trainer's logs.
SCALARS = {
    "d_far_logit": "FARGAN: mean logit of the fakes counted as real (the lowest scored).",
    "d_candidate_logit": "FARGAN: mean logit of all candidate fakes scored for selection.",
}


def select_fake_as_real(candidates, scores, num_far):
    """Tao & Wang 2020, eq. 10: the `num_far` candidates with the lowest discriminator outputs.

    Args:
        candidates: `[K, ...]` fakes (K = f * N0).
        scores: `[K]` pre-sigmoid outputs `D0(candidates)`.
        num_far: N0 <= K.

    Returns:
        `(selected [num_far, ...], indices int32 [num_far])`, lowest score first.
    """
    k = candidates.shape[0]
    if k is not None and num_far > k:
        raise ValueError(f"cannot select N0={num_far} fakes out of {k} candidates")
    if num_far == 0:
        return candidates[:0], tf.zeros([0], tf.int32)
    _, indices = tf.math.top_k(-tf.cast(scores, tf.float32), k=num_far, sorted=True)
    return tf.gather(candidates, indices), indices


class StandardBatch:
    """N reals against N fakes."""

    name = "standard"

    def __repr__(self):
        return "StandardBatch()"

    def sizes(self, local_batch):
        """`(N1, N0, M, K)` of this replica: reals used, fakes counted as real, fakes, and
        fake-as-real candidates."""
        return local_batch, 0, local_batch, 0


class FakeAsReal:
    """Fake-as-real (Tao & Wang 2020, Alg. 1, eq. 10).

    Args:
        num_far: N0, global number of fakes counted as real per D step (32 CIFAR, 16 synthetic;
            0 = the 0GP baseline).
        far_factor: f, candidates per fake-as-real sample (8; f = 1 picks at random).
        num_fake: M, global fakes per D and G step (default: N = `run.batch_size`).
    """

    name = "fake-as-real"

    def __init__(self, num_far=32, far_factor=8, num_fake=None, owner="FakeAsReal"):
        if num_far < 0:
            raise ValueError(f"{owner}.num_far (N0) must be >= 0, got {num_far}")
        if far_factor < 1:
            raise ValueError(f"{owner}.far_factor (f) must be >= 1, got {far_factor}")
        if num_fake is not None and num_fake < 1:
            raise ValueError(f"{owner}.num_fake (M) must be >= 1 or None, got {num_fake}")
        self.num_far = int(num_far)
        self.far_factor = int(far_factor)
        self.num_fake = None if num_fake is None else int(num_fake)
        self.owner = owner

    def __repr__(self):
        return (f"FakeAsReal(N0={self.num_far}, f={self.far_factor}, "
                f"M={'N' if self.num_fake is None else self.num_fake})")

    def sizes(self, local_batch):
        r = distribute.num_replicas()
        n = local_batch * r
        m = n if self.num_fake is None else self.num_fake
        if self.num_far >= n:
            raise ValueError(f"{self.owner}.num_far N0={self.num_far} must be < the global real "
                             f"batch N=run.batch_size={n} (N1 = N - N0 reals are used)")
        for name, value in (("num_far (N0)", self.num_far), ("num_fake (M)", m)):
            if value % r:
                raise ValueError(f"{self.owner}.{name}={value} must be divisible by the number "
                                 f"of replicas ({r})")
        n0 = self.num_far // r
        return local_batch - n0, n0, m // r, self.far_factor * n0

    def select(self, trainer, candidates, candidate_labels, n0):
        """Eq. 10: the N0 candidates with the lowest `D0` (scored by the current D in training
        mode, no gradient), their labels, and logs."""
        if not n0:
            return candidates[:0], None if candidate_labels is None else candidate_labels[:0], {}
        scores = tf.stop_gradient(tf.cast(
            trainer.discriminator(candidates, candidate_labels, training=True)["logits"],
            tf.float32))
        selected, indices = select_fake_as_real(candidates, scores, n0)
        labels = None if candidate_labels is None else tf.gather(candidate_labels, indices)
        return selected, labels, {"d_candidate_logit": tf.reduce_mean(scores)}


gin.external_configurable(FakeAsReal, module="tfgan_fast", denylist=["owner"])
