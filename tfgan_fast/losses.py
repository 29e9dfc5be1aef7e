"""Per-example GAN losses, all to be MINIMISED.

Every function here is a pure function of tensors that returns one value per example (shape `[B]`);
the reduction to a scalar happens in one place, `distribute.replica_loss`, so that gradients are the
same whatever the number of replicas (Keras 3 sums gradients across replicas).

Notation: `logits` is the adversarial logit `D_b(x)` of shape `[B]`, `class_logits` the auxiliary
classifier's logits `D_c(x)` of shape `[B, C]`, `labels` int `[B]`.

The loss *compositions* (`FastGANLoss`, `RobGANLoss`) bundle the D-real, D-fake and G parts of one
paper's objective so that an algorithm takes a single gin reference (`FastGAN.loss = @RobGANLoss()`
is the "revert to RobGAN loss" ablation of Zhong et al. 2020, Table 2).
"""

import gin
import tensorflow as tf


# --- adversarial terms -------------------------------------------------------------------------

@gin.register
def hinge_d_real(logits):
    """`relu(1 - D(x_r))` (Zhong et al. 2020, eq. 13, real part)."""
    return tf.nn.relu(1.0 - logits)


@gin.register
def hinge_d_fake(logits):
    """`relu(1 + D(x_f))` (Zhong et al. 2020, eq. 13, fake part)."""
    return tf.nn.relu(1.0 + logits)


@gin.register
def hinge_g(logits):
    """`-D(x_f)` (Zhong et al. 2020, eq. 14, adversarial part)."""
    return -logits


@gin.register
def nonsaturating_d_real(logits):
    """`-log sigmoid(D(x_r)) = softplus(-D(x_r))`: BCE with target "real"."""
    return tf.nn.softplus(-logits)


@gin.register
def nonsaturating_d_fake(logits):
    """`-log(1 - sigmoid(D(x_f))) = softplus(D(x_f))`: BCE with target "fake"."""
    return tf.nn.softplus(logits)


@gin.register
def nonsaturating_g(logits):
    """`-log sigmoid(D(G(z)))`: the non-saturating generator loss."""
    return tf.nn.softplus(-logits)


@gin.register
def wasserstein_d_real(logits):
    return -logits


@gin.register
def wasserstein_d_fake(logits):
    return logits


@gin.register
def wasserstein_g(logits):
    return -logits


@gin.register
def least_squares_d_real(logits):
    """`(D(x_r) - 1)^2 / 2` (LSGAN with a-b-c = 0-1-1)."""
    return 0.5 * tf.square(logits - 1.0)


@gin.register
def least_squares_d_fake(logits):
    return 0.5 * tf.square(logits)


@gin.register
def least_squares_g(logits):
    return 0.5 * tf.square(logits - 1.0)


# --- classification terms ----------------------------------------------------------------------

def classification_ce(labels, class_logits):
    """Softmax cross-entropy `CE(y, D_c(x))`, `[B]`."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=class_logits)


KL_UNIFORM_TO_PRED = "uniform_to_pred"
KL_PRED_TO_UNIFORM = "pred_to_uniform"


def kl_to_uniform(class_logits, direction=KL_UNIFORM_TO_PRED):
    """KL divergence between the classifier's prediction `p = softmax(D_c(x))` and uniform `U`.

    Args:
        class_logits: `[B, C]`.
        direction: `"uniform_to_pred"` gives `KL(U || p) = -log C - mean_k log p_k` (what the
            authors' code computes, the default); `"pred_to_uniform"` gives
            `KL(p || U) = sum_k p_k log p_k + log C` (what Zhong et al. 2020, eq. 13 writes).

    Returns:
        `[B]`, non-negative, zero exactly when `p` is uniform.
    """
    log_p = tf.nn.log_softmax(class_logits, axis=-1)
    num_classes = tf.cast(tf.shape(class_logits)[-1], log_p.dtype)
    if direction == KL_UNIFORM_TO_PRED:
        return -tf.math.log(num_classes) - tf.reduce_mean(log_p, axis=-1)
    if direction == KL_PRED_TO_UNIFORM:
        return tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1) + tf.math.log(num_classes)
    raise ValueError(
        f"kl_direction must be {KL_UNIFORM_TO_PRED!r} or {KL_PRED_TO_UNIFORM!r}, "
        f"got {direction!r}")


# --- compositions ------------------------------------------------------------------------------

def _require_class_logits(outputs, who):
    class_logits = outputs.get("class_logits")
    if class_logits is None:
        raise ValueError(
            f"{who} needs a discriminator with an auxiliary-classifier head "
            "(ResNetDiscriminator.head = 'ac'); the discriminator returned no 'class_logits'.")
    return class_logits


@gin.configurable
class FastGANLoss:
    """The improved loss of FastGAN (Zhong et al. 2020, eq. 13-14; Zhong 2020 thesis, eq. 3.1-3.2).

    - `L_D^r = relu(1 - D_b(x_r+delta)) + CE(y_r, D_c(x_r+delta))`
    - `L_D^f = relu(1 + D_b(x_f)) + alpha_fc * KL(U || softmax(D_c(x_f)))`
    - `L_G   = -D_b(x_f) + alpha_gc * CE(y_f, D_c(x_f))`

    Args:
        alpha_gc: weight of the generator's classification term (1.0 CIFAR10/ImageNet-143, 0.2
            CIFAR100/ImageNet).
        alpha_fc: weight of the KL-to-uniform term on fakes (1.0; 0.05 ImageNet). `0` is the
            "disable KL term" ablation of Zhong et al. 2020, Table 2.
        kl_direction: see `kl_to_uniform`.
    """

    def __init__(self, alpha_gc=1.0, alpha_fc=1.0, kl_direction=KL_UNIFORM_TO_PRED):
        if kl_direction not in (KL_UNIFORM_TO_PRED, KL_PRED_TO_UNIFORM):
            raise ValueError(
                f"FastGANLoss.kl_direction must be {KL_UNIFORM_TO_PRED!r} or "
                f"{KL_PRED_TO_UNIFORM!r}, got {kl_direction!r}")
        self.alpha_gc = float(alpha_gc)
        self.alpha_fc = float(alpha_fc)
        self.kl_direction = kl_direction

    def d_real(self, outputs, labels):
        """Per-example `L_D^r` and its parts, from the discriminator's output dict on reals."""
        class_logits = _require_class_logits(outputs, "FastGANLoss")
        adv = hinge_d_real(outputs["logits"])
        cls = classification_ce(labels, class_logits)
        return adv + cls, {"d_real_adv": adv, "d_real_class": cls}

    def d_fake(self, outputs, labels):
        """Per-example `L_D^f`; `labels` are unused (the KL term ignores y_f by design)."""
        del labels
        class_logits = _require_class_logits(outputs, "FastGANLoss")
        adv = hinge_d_fake(outputs["logits"])
        kl = kl_to_uniform(class_logits, self.kl_direction)
        return adv + self.alpha_fc * kl, {"d_fake_adv": adv, "d_fake_kl": kl}

    def g(self, outputs, labels):
        class_logits = _require_class_logits(outputs, "FastGANLoss")
        adv = hinge_g(outputs["logits"])
        cls = classification_ce(labels, class_logits)
        return adv + self.alpha_gc * cls, {"g_adv": adv, "g_class": cls}


@gin.configurable
class RobGANLoss:
    """RobGAN's loss (Zhong 2020 thesis, eq. 2.2-2.3): BCE adversarial terms, D's AC on reals only.

    - `L_D = BCE(real, D_b(x_r+sigma)) + CE(y_r, D_c(x_r+sigma)) + BCE(fake, D_b(x_f))`
    - `L_G = BCE(real, D_b(x_f)) + CE(y_f, D_c(x_f))`
    """

    def d_real(self, outputs, labels):
        class_logits = _require_class_logits(outputs, "RobGANLoss")
        adv = nonsaturating_d_real(outputs["logits"])
        cls = classification_ce(labels, class_logits)
        return adv + cls, {"d_real_adv": adv, "d_real_class": cls}

    def d_fake(self, outputs, labels):
        del labels
        adv = nonsaturating_d_fake(outputs["logits"])
        return adv, {"d_fake_adv": adv}

    def g(self, outputs, labels):
        class_logits = _require_class_logits(outputs, "RobGANLoss")
        adv = nonsaturating_g(outputs["logits"])
        cls = classification_ce(labels, class_logits)
        return adv + cls, {"g_adv": adv, "g_class": cls}


@gin.configurable
class AdversarialLoss:
    """A plain adversarial objective, optionally with auxiliary-classifier terms.

    SNGAN and SAGAN (projection discriminator): hinge, no class terms (the projection head puts the
    label inside `D_b`). SNGAN(AC) (Zhong 2020 thesis, §5.1, the AC variant of SNGAN): hinge
    plus `CE(y_r, D_c(x_r))` for D and `CE(y_f, D_c(x_f))` for G.

    - `L_D^r = d_real_fn(D_b(x_r)) + alpha_dc * CE(y_r, D_c(x_r))`
    - `L_D^f = d_fake_fn(D_b(x_f)) + alpha_dfc * CE(y_f, D_c(x_f))` (ACGAN also classifies fakes)
    - `L_G   = g_fn(D_b(x_f)) + alpha_gc * CE(y_f, D_c(x_f))`

    Args:
        d_real_fn, d_fake_fn, g_fn: per-example adversarial terms from this module
            (`@hinge_d_real`, `@nonsaturating_d_real`, `@wasserstein_d_real`,
            `@least_squares_d_real` and their `_d_fake` / `_g` partners).
        alpha_dc: weight of D's classification loss on reals (needs an AC head when > 0).
        alpha_dfc: weight of D's classification loss on fakes.
        alpha_gc: weight of G's classification loss on its fakes.
    """

    def __init__(self, d_real_fn=hinge_d_real, d_fake_fn=hinge_d_fake, g_fn=hinge_g,
                 alpha_dc=0.0, alpha_dfc=0.0, alpha_gc=0.0):
        for name, fn in (("d_real_fn", d_real_fn), ("d_fake_fn", d_fake_fn), ("g_fn", g_fn)):
            if not callable(fn):
                raise ValueError(f"AdversarialLoss.{name} must be a loss function such as "
                                 f"@hinge_d_real, got {fn!r}")
        for name, value in (("alpha_dc", alpha_dc), ("alpha_dfc", alpha_dfc),
                            ("alpha_gc", alpha_gc)):
            if value < 0:
                raise ValueError(f"AdversarialLoss.{name} must be >= 0, got {value}")
        self.d_real_fn, self.d_fake_fn, self.g_fn = d_real_fn, d_fake_fn, g_fn
        self.alpha_dc = float(alpha_dc)
        self.alpha_dfc = float(alpha_dfc)
        self.alpha_gc = float(alpha_gc)

    def _with_class(self, adv, weight, outputs, labels, prefix):
        parts = {f"{prefix}_adv": adv}
        if weight > 0:
            cls = classification_ce(labels, _require_class_logits(outputs, "AdversarialLoss"))
            parts[f"{prefix}_class"] = cls
            return adv + weight * cls, parts
        return adv, parts

    def d_real(self, outputs, labels):
        return self._with_class(self.d_real_fn(outputs["logits"]), self.alpha_dc, outputs,
                                labels, "d_real")

    def d_fake(self, outputs, labels):
        return self._with_class(self.d_fake_fn(outputs["logits"]), self.alpha_dfc, outputs,
                                labels, "d_fake")

    def g(self, outputs, labels):
        return self._with_class(self.g_fn(outputs["logits"]), self.alpha_gc, outputs, labels,
                                "g")
