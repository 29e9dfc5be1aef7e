"""Per-example GAN losses, all to be MINIMISED.

Every function here is a pure function of tensors that returns one value per example (shape `[B]`);
the reduction to a scalar happens in one place, `distribute.replica_loss`, so that gradients are the
same whatever the number of replicas (Keras 3 sums gradients across replicas).

Notation: `logits` is the adversarial logit `D_b(x)` of shape `[B]`, `class_logits` the auxiliary
classifier's logits `D_c(x)` of shape `[B, C]`, `labels` int `[B]`.

One loss *composition*, `AdversarialLoss`, bundles the D-real, D-fake and G parts of an objective,
so that every trainer takes a single gin reference; each paper's objective is a preset of it
(`FastGANLoss`, `RobGANLoss`; `FastGAN.loss = @RobGANLoss()` is the "revert to RobGAN loss"
ablation of Zhong et al. 2020, Table 2).
"""

import gin
import tensorflow as tf

# TensorBoard's descriptions of the loss parts the compositions log (`callbacks` collects them).
SCALARS = {
    "d_real_adv": "The adversarial term of D's loss on reals (e.g. hinge relu(1 - D(x))).",
    "d_real_class": "Cross-entropy of D's class head on the reals' labels (AC heads).",
    "d_fake_adv": "The adversarial term of D's loss on fakes (e.g. hinge relu(1 + D(G(z)))).",
    "d_fake_kl": "FastGAN: KL between uniform and D's class prediction on fakes (eq. 13).",
    "d_fake_class": "Cross-entropy of D's class head on the fakes' labels (ACGAN-style).",
    "d_pair_adv": "RpGAN: the relativistic term of D's loss, one per (real, fake) pair.",
    "g_adv": "The adversarial term of G's loss (e.g. -D(G(z)) for hinge).",
    "g_class": "Cross-entropy of D's class head on G's samples for their labels (AC heads).",
}


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


# --- the composition ----------------------------------------------------------------------------

def _require_class_logits(outputs, who):
    class_logits = outputs.get("class_logits")
    if class_logits is None:
        raise ValueError(
            f"{who} needs a discriminator with an auxiliary-classifier head "
            "(ResNetDiscriminator.head = 'ac'); the discriminator returned no 'class_logits'.")
    return class_logits


def _add_class_term(total, parts, weight, outputs, labels, key, who):
    """`total + weight * CE(labels, D_c)` with the CE in `parts[key]`; `total` if weight is 0."""
    if weight > 0:
        cls = classification_ce(labels, _require_class_logits(outputs, who))
        parts[key] = cls
        total = total + weight * cls
    return total


class AdversarialLoss:
    """The one loss composition of every method: adversarial terms, optional class and KL terms.

    - `L_D^r = d_real_fn(D_b(x_r)) + real_class_weight * CE(y_r, D_c(x_r))`
    - `L_D^f = d_fake_fn(D_b(x_f)) + fake_class_weight * CE(y_f, D_c(x_f))`
      `      + fake_kl_weight * KL(U || softmax(D_c(x_f)))`
    - `L_G   = g_fn(D_b(x_f)) + g_class_weight * CE(y_f, D_c(x_f))`

    Each method's objective is a preset of it: SNGAN and SAGAN (projection D): hinge, no class
    terms; SNGAN(AC) (Zhong 2020 thesis, §5.1): hinge with
    `real_class_weight = g_class_weight = 1`;
    ACGAN also classifies fakes (`fake_class_weight`); `FastGANLoss` and `RobGANLoss` below;
    FARGAN's loss families (Tao & Wang 2020, Table 2) by the three functions.

    Args:
        d_real_fn, d_fake_fn, g_fn: per-example adversarial terms from this module
            (`@hinge_d_real`, `@nonsaturating_d_real`, `@wasserstein_d_real`,
            `@least_squares_d_real` and their `_d_fake` / `_g` partners).
        real_class_weight: D's cross-entropy on real labels (needs an AC head when > 0).
        fake_class_weight: D's cross-entropy on the fakes' sampled labels (ACGAN).
        fake_kl_weight: D's KL-to-uniform on fakes (FastGAN's alpha_fc, Zhong et al. 2020, eq. 13).
        g_class_weight: G's cross-entropy on its sampled labels.
        kl_direction: of the KL term, see `kl_to_uniform`.
        name: shown in logs and `repr` (the presets name themselves).
    """

    def __init__(self, d_real_fn=hinge_d_real, d_fake_fn=hinge_d_fake, g_fn=hinge_g,
                 real_class_weight=0.0, fake_class_weight=0.0, fake_kl_weight=0.0,
                 g_class_weight=0.0, kl_direction=KL_UNIFORM_TO_PRED, name="AdversarialLoss"):
        weights = {"real_class_weight": real_class_weight, "fake_class_weight": fake_class_weight,
                   "fake_kl_weight": fake_kl_weight, "g_class_weight": g_class_weight}
        for key, fn in (("d_real_fn", d_real_fn), ("d_fake_fn", d_fake_fn), ("g_fn", g_fn)):
            if not callable(fn):
                raise ValueError(f"{name}.{key} must be a loss function such as "
                                 f"@hinge_d_real, got {fn!r}")
        for key, value in weights.items():
            if value < 0:
                raise ValueError(f"{name}.{key} must be >= 0, got {value}")
        if kl_direction not in (KL_UNIFORM_TO_PRED, KL_PRED_TO_UNIFORM):
            raise ValueError(
                f"{name}.kl_direction must be {KL_UNIFORM_TO_PRED!r} or "
                f"{KL_PRED_TO_UNIFORM!r}, got {kl_direction!r}")
        self.d_real_fn, self.d_fake_fn, self.g_fn = d_real_fn, d_fake_fn, g_fn
        self.real_class_weight = float(weights["real_class_weight"])
        self.fake_class_weight = float(weights["fake_class_weight"])
        self.fake_kl_weight = float(weights["fake_kl_weight"])
        self.g_class_weight = float(weights["g_class_weight"])
        self.kl_direction = kl_direction
        self.name = name

    def __repr__(self):
        fns = ", ".join(getattr(f, "__name__", repr(f))
                        for f in (self.d_real_fn, self.d_fake_fn, self.g_fn))
        return (f"{self.name}({fns}; class weights real {self.real_class_weight:g}, "
                f"fake {self.fake_class_weight:g}, G {self.g_class_weight:g}; "
                f"fake KL {self.fake_kl_weight:g})")

    @property
    def needs_class_logits(self):
        return any(w > 0 for w in (self.real_class_weight, self.fake_class_weight,
                                   self.fake_kl_weight, self.g_class_weight))

    def _class_term(self, total, parts, weight, outputs, labels, key):
        return _add_class_term(total, parts, weight, outputs, labels, key, self.name)

    def d_real(self, outputs, labels):
        """Per-example `L_D^r` `[B]` and its parts, from D's output dict on reals."""
        adv = self.d_real_fn(outputs["logits"])
        parts = {"d_real_adv": adv}
        return self._class_term(adv, parts, self.real_class_weight, outputs, labels,
                                "d_real_class"), parts

    def d_fake(self, outputs, labels):
        """Per-example `L_D^f` `[B]` and its parts (the KL term ignores y_f by design)."""
        adv = self.d_fake_fn(outputs["logits"])
        parts = {"d_fake_adv": adv}
        total = self._class_term(adv, parts, self.fake_class_weight, outputs, labels,
                                 "d_fake_class")
        if self.fake_kl_weight > 0:
            kl = kl_to_uniform(_require_class_logits(outputs, self.name), self.kl_direction)
            parts["d_fake_kl"] = kl
            total = total + self.fake_kl_weight * kl
        return total, parts

    def g(self, outputs, labels):
        """Per-example `L_G` `[B]` and its parts."""
        adv = self.g_fn(outputs["logits"])
        parts = {"g_adv": adv}
        return self._class_term(adv, parts, self.g_class_weight, outputs, labels,
                                "g_class"), parts


gin.external_configurable(AdversarialLoss, module="tfgan_fast")


# --- presets -------------------------------------------------------------------------------------

@gin.configurable
def FastGANLoss(alpha_gc=1.0, alpha_fc=1.0,  # pylint: disable=invalid-name
                kl_direction=KL_UNIFORM_TO_PRED):
    """The improved loss of FastGAN (Zhong et al. 2020, eq. 13-14; Zhong 2020 thesis, eq. 3.1-3.2).

    - `L_D^r = relu(1 - D_b(x_r+delta)) + CE(y_r, D_c(x_r+delta))`
    - `L_D^f = relu(1 + D_b(x_f)) + alpha_fc * KL(U || softmax(D_c(x_f)))`
    - `L_G   = -D_b(x_f) + alpha_gc * CE(y_f, D_c(x_f))`

    Args (the paper's names):
        alpha_gc: G's classification weight (1.0 CIFAR10/ImageNet-143, 0.2 CIFAR100/ImageNet);
            `AdversarialLoss.g_class_weight`.
        alpha_fc: the KL-to-uniform weight on fakes (1.0; 0.05 ImageNet); `0` is the "disable
            KL term" ablation of Zhong et al. 2020, Table 2; `AdversarialLoss.fake_kl_weight`.
        kl_direction: see `kl_to_uniform`.
    """
    return AdversarialLoss(hinge_d_real, hinge_d_fake, hinge_g, real_class_weight=1.0,
                           fake_kl_weight=alpha_fc, g_class_weight=alpha_gc,
                           kl_direction=kl_direction, name="FastGANLoss")


@gin.configurable
def RobGANLoss():  # pylint: disable=invalid-name
    """RobGAN's loss (Zhong 2020 thesis, eq. 2.2-2.3): BCE adversarial terms, D's AC on reals only.

    - `L_D = BCE(real, D_b(x_r+sigma)) + CE(y_r, D_c(x_r+sigma)) + BCE(fake, D_b(x_f))`
    - `L_G = BCE(real, D_b(x_f)) + CE(y_f, D_c(x_f))`
    """
    return AdversarialLoss(nonsaturating_d_real, nonsaturating_d_fake, nonsaturating_g,
                           real_class_weight=1.0, g_class_weight=1.0, name="RobGANLoss")


# --- relativistic pairing ------------------------------------------------------------------------

@gin.register
def relativistic_d(real_logits, fake_logits):
    """RpGAN's D term `softplus(D(x_f) - D(x_r))` per pair: `-log sigmoid(D(x_r) - D(x_f))`
    (Jolicoeur-Martineau 2019; R3GAN, Huang et al. 2024, eq. 2)."""
    return tf.nn.softplus(fake_logits - real_logits)


@gin.register
def relativistic_g(real_logits, fake_logits):
    """RpGAN's G term `softplus(D(x_r) - D(x_f))` per pair."""
    return tf.nn.softplus(real_logits - fake_logits)


class RelativisticLoss:
    """The relativistic pairing GAN loss (RpGAN) of R3GAN (Huang, Gokaslan, Kuleshov and Tompkin,
    "The GAN is dead; long live the GAN! A Modern GAN Baseline", NeurIPS 2024, eq. 2): D and G
    see the i-th real beside the i-th fake,

    - `L_D = softplus(D(x_f,i) - D(x_r,i))`
    - `L_G = softplus(D(x_r,i) - D(x_f,i))`

    so its G step needs a real batch too (the trainer passes the iteration's). A projection D
    puts the labels inside `D`; `g_class_weight` and `real_class_weight` add an AC head's terms.
    """

    pairwise = True

    def __init__(self, real_class_weight=0.0, g_class_weight=0.0, name="RelativisticLoss"):
        for key, value in (("real_class_weight", real_class_weight),
                           ("g_class_weight", g_class_weight)):
            if value < 0:
                raise ValueError(f"{name}.{key} must be >= 0, got {value}")
        self.real_class_weight = float(real_class_weight)
        self.g_class_weight = float(g_class_weight)
        self.name = name

    def __repr__(self):
        return f"{self.name}(RpGAN)"

    @staticmethod
    def _pair(real_out, fake_out):
        real, fake = real_out["logits"], fake_out["logits"]
        if real.shape[0] is not None and fake.shape[0] is not None and \
                real.shape[0] != fake.shape[0]:
            raise ValueError(f"RelativisticLoss pairs reals with fakes: got {real.shape[0]} "
                             f"reals and {fake.shape[0]} fakes")
        return real, fake

    def d_pair(self, real_out, fake_out, real_labels, fake_labels):
        """Per-pair `L_D` `[B]` and its parts."""
        del fake_labels
        real, fake = self._pair(real_out, fake_out)
        adv = relativistic_d(real, fake)
        parts = {"d_pair_adv": adv}
        return _add_class_term(adv, parts, self.real_class_weight, real_out, real_labels,
                               "d_real_class", self.name), parts

    def g_pair(self, real_out, fake_out, fake_labels):
        """Per-pair `L_G` `[B]` and its parts."""
        real, fake = self._pair(real_out, fake_out)
        adv = relativistic_g(real, fake)
        parts = {"g_adv": adv}
        return _add_class_term(adv, parts, self.g_class_weight, fake_out, fake_labels,
                               "g_class", self.name), parts


gin.external_configurable(RelativisticLoss, module="tfgan_fast")
