"""FARGAN: fake-as-real training, zero-centred gradient penalty (Tao & Wang 2020, §5.3, Alg. 1).

Per D step (Tao & Wang 2020, Alg. 1), with global sizes N (reals), M (fakes), f and N0:
1. N1 = N - N0 reals; M + f*N0 fakes from G (no G gradient).
2. eq. 10: among the extra f*N0 fakes, the N0 with the LOWEST pre-sigmoid output `D0` form
   `D_FAR` (`select_fake_as_real`, `tf.math.top_k` of `-D0`).
3. eq. 11 (minimised form):
   `L_D = [sum_{N1} l_r(D0(x_i)) + sum_{N0} l_r(D0(y~_i))] / N + mean_M l_f(D0(y_i))
          + k/N sum_{c in reals ∪ D_FAR} ||grad D0(c)||^2`
   with `l_r = -log sigma`, `l_f = -log(1 - sigma)` for NSGAN (other families of Tao & Wang 2020,
   Table 2 by binding `FARGAN.loss`).
G step: M fresh fakes, non-saturating `-mean log sigma(D0(G(z)))`. N0 = 0 is the "0GP" baseline
(NSGAN-0GP-sample); `FARGAN.penalty = @InterpolationPenalty()` gives NSGAN-0GP-interpolation
(Thanh-Tung et al. 2019); `SamplePenalty.weight = 0.0` plain NSGAN (Tao & Wang 2020, Fig. 1).

Batches and replicas. `run.batch_size` is the global N. The data pipeline delivers N reals per D
step and FARGAN uses the first N1 of them (the rest are dropped; the data sources shuffle, so this
only costs input bandwidth). N, M and N0 are global numbers: each of R replicas takes N/R reals, M/R
fakes and selects N0/R of its own f*N0/R candidates, so M and N0 must be divisible by R (checked).
With one replica this is exactly Tao & Wang 2020, Alg. 1; with several the selection is a
per-replica top-k (a global top-k would need an all-gather of the candidates).

FARGAN is unconditional (Tao & Wang 2020 trains without labels): the networks are built with
`num_classes = 0` (`run.unconditional = True` for labelled data sets) and labels are ignored.
"""

import tensorflow as tf

from tfgan_fast import distribute
from tfgan_fast import losses as losses_lib
from tfgan_fast import penalties
from tfgan_fast.algorithms import base

# Salt of the interpolation coefficients (base.py uses 1-4 and 15).
SALT_FARGAN_INTERPOLATION = 9


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


class FARGAN(base.GANTrainer):
    """Fake-as-real GAN (Tao & Wang 2020, Alg. 1).

    Args:
        num_far: N0, global number of fakes counted as real per D step (32 CIFAR, 16 synthetic;
            0 = the 0GP baseline).
        far_factor: f, candidates per fake-as-real sample (8; f = 1 picks at random).
        num_fake: M, global fakes per D and G step (default: N = `run.batch_size`).
        loss: a `losses.AdversarialLoss` whose `d_real_fn` / `d_fake_fn` / `g_fn` give the loss
            family of Tao & Wang 2020, Table 2 (default NSGAN; its class-term weights are unused).
        penalty: `SamplePenalty` (default, k = 10) or `InterpolationPenalty`.
        **kwargs: for `GANTrainer`; `num_classes` must be 0.
    """

    def __init__(self, *args, num_far=32, far_factor=8, num_fake=None, loss=None, penalty=None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if self.num_classes:
            raise ValueError(
                f"FARGAN is unconditional (Tao & Wang 2020), got num_classes={self.num_classes}: "
                "bind run.unconditional = True to build label-free networks on a labelled data set")
        if num_far < 0:
            raise ValueError(f"FARGAN.num_far (N0) must be >= 0, got {num_far}")
        if far_factor < 1:
            raise ValueError(f"FARGAN.far_factor (f) must be >= 1, got {far_factor}")
        if num_fake is not None and num_fake < 1:
            raise ValueError(f"FARGAN.num_fake (M) must be >= 1 or None, got {num_fake}")
        self.num_far = int(num_far)
        self.far_factor = int(far_factor)
        self.num_fake = None if num_fake is None else int(num_fake)
        self.loss = loss if loss is not None else losses_lib.AdversarialLoss(
            losses_lib.nonsaturating_d_real, losses_lib.nonsaturating_d_fake,
            losses_lib.nonsaturating_g)
        self.penalty = penalty if penalty is not None else penalties.SamplePenalty()

    # --- sizes --------------------------------------------------------------------------------

    def local_sizes(self, local_batch):
        """`(N1, N0, M)` of this replica for a per-replica real batch of `local_batch` (= N/R)."""
        r = distribute.num_replicas()
        n = local_batch * r
        m = n if self.num_fake is None else self.num_fake
        if self.num_far >= n:
            raise ValueError(f"FARGAN.num_far N0={self.num_far} must be < the global real batch "
                             f"N=run.batch_size={n} (N1 = N - N0 reals are used)")
        for name, value in (("num_far (N0)", self.num_far), ("num_fake (M)", m)):
            if value % r:
                raise ValueError(f"FARGAN.{name}={value} must be divisible by the number of "
                                 f"replicas ({r})")
        n0 = self.num_far // r
        return local_batch - n0, n0, m // r

    def _logits(self, x):
        return tf.cast(self.discriminator(x, None, training=True)["logits"], tf.float32)

    # --- steps --------------------------------------------------------------------------------

    def discriminator_step(self, real_images, real_labels):
        del real_labels  # unconditional
        n1, n0, m = self.local_sizes(real_images.shape[0])
        num_candidates = self.far_factor * n0
        z = self.sample_latents(m + num_candidates, base.SALT_D_LATENTS)
        # step_seed differs between the n_disc D steps of an iteration (GANTrainer folds the
        # D sub-step in).
        interp_seed = self.step_seed(SALT_FARGAN_INTERPOLATION)
        generated = tf.stop_gradient(self.generator(z, None, training=True))
        fakes, candidates = generated[:m], generated[m:]
        reals = tf.cast(real_images[:n1], generated.dtype)
        positives, logs = self.fake_as_real(reals, candidates, n0)
        with tf.GradientTape() as tape:
            loss, loss_logs = self.discriminator_loss(positives, fakes, n1, interp_seed)
        self.apply_d_gradients(loss, tape)
        logs.update(loss_logs)
        return logs

    def fake_as_real(self, reals, candidates, n0):
        """Eq. 10 (Tao & Wang 2020): `(reals ∪ D_FAR [N1 + N0, ...], logs)`; D_FAR: the N0
        with the lowest `D0` (scored by the current D, no gradient)."""
        if not n0:
            return reals, {}
        scores = tf.stop_gradient(self._logits(candidates))
        selected, _ = select_fake_as_real(candidates, scores, n0)
        return tf.concat([reals, selected], axis=0), {"d_candidate_logit": tf.reduce_mean(scores)}

    def discriminator_loss(self, positives, fakes, n1, interp_seed):
        """Tao & Wang 2020, eq. 11 for this replica: the loss to differentiate and scalar logs.

        Args:
            positives: `[N1 + N0, ...]` reals then fakes counted as real (this replica's).
            fakes: `[M, ...]`.
            n1: how many of `positives` are real.
            interp_seed: seed of `InterpolationPenalty`'s coefficients.

        Returns:
            `(loss, logs)`: `loss` is this replica's share of
            `mean_N l_r(D0(c)) + mean_M l_f(D0(y)) + mean penalty` over the global batch.
        """
        penalty, pos_logits = self.penalty(self._logits, positives, fakes, interp_seed)
        fake_logits = self._logits(fakes)
        pos_loss = self.loss.d_real_fn(pos_logits)
        fake_loss = self.loss.d_fake_fn(fake_logits)
        loss = (distribute.replica_loss(pos_loss) + distribute.replica_loss(fake_loss)
                + distribute.replica_loss(penalty))
        real_logits = pos_logits[:n1]
        logs = {
            # As Tao & Wang 2020, Fig. 5: D's loss without the regulariser.
            "d_loss": tf.reduce_mean(pos_loss) + tf.reduce_mean(fake_loss),
            "d_loss_real": tf.reduce_mean(pos_loss),
            "d_loss_fake": tf.reduce_mean(fake_loss),
            "d_penalty": tf.reduce_mean(penalty),
            "d_real_logit": tf.reduce_mean(real_logits),
            "d_fake_logit": tf.reduce_mean(fake_logits),
            "d_real_acc": tf.reduce_mean(tf.cast(real_logits > 0, tf.float32)),
            "d_fake_acc": tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32)),
        }
        if positives.shape[0] > n1:
            logs["d_far_logit"] = tf.reduce_mean(pos_logits[n1:])
        return loss, logs

    def generator_step(self, local_batch):
        _, _, m = self.local_sizes(local_batch)
        return self.standard_generator_step(m, self.loss.g)
