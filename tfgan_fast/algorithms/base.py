"""`GANTrainer`: the one training step of every method, assembled from parts chosen by gin.

An iteration is `n_disc` D steps (each on its own real batch) and one G step. The methods differ
only in the parts they plug into that step (`tfgan_fast.algorithms.presets` names the papers'
compositions):

    D step:  z, y  --latent transform-->  z'  --G-->  fakes (+ f*N0 candidates)
             batch composition: which samples are called real (reals, fakes counted as real)
             repeat d_replays times on that one fake batch:
                 real transform: D's real inputs (as they are, PGD, free adversarial delta)
                 D(reals ∪ fakes); with a penalty D(positives) in its own pass, and D(fakes)
                 loss composition: L_D^r + L_D^f (+ R_z of the latent transform) (+ penalty)
                 one D optimiser step; the real transform consumes the input gradient
    G step:  z, y  --latent transform-->  z'  --G-->  D  -->  L_G (+ R_z), one G optimiser step

Randomness has one owner (`tfgan_fast.runtime.randomness`): every random tensor is drawn
statelessly from `(seed, iteration, D sub-step, salt)` for the global batch and sliced per
replica, and the sub-step reaches each part explicitly (a `StepRandom`).
"""

import collections
import contextlib

import tensorflow as tf

from tfgan_fast.algorithms import batches as batches_lib
from tfgan_fast.algorithms import keras_workarounds
from tfgan_fast.algorithms import losses as losses_lib
from tfgan_fast.algorithms import real_inputs
from tfgan_fast.algorithms.latents import normal_latents
from tfgan_fast.runtime import distribute
from tfgan_fast.runtime import precision
from tfgan_fast.runtime import randomness
from tfgan_fast.runtime.randomness import Salt

# What a D step draws once and replays on (see `GANTrainer.discriminator_step`).
FakeBatch = collections.namedtuple(
    "FakeBatch", ["fakes", "labels", "latent_penalty", "far", "far_labels", "logs"])

# TensorBoard's descriptions of the step's own logs; each part declares its own (`SCALARS` of
# losses, penalties, real_inputs, latents, batches; `scalar_descriptions` collects them).
SCALARS = {
    "d_loss": "D's loss: the real part plus the fake part (plus its penalty), minimised by D.",
    "d_loss_real": "D's loss on the real images (perturbed ones for FastGAN / RobGAN).",
    "d_loss_fake": "D's loss on the generated images.",
    "d_real_acc": "Share of reals D scores as real (logit > 0).",
    "d_fake_acc": "Share of fakes D scores as fake (logit < 0).",
    "d_real_logit": "Mean adversarial logit of D on the positives (reals and fakes as real).",
    "d_fake_logit": "Mean adversarial logit of D on the fakes.",
    "g_loss": "G's loss, minimised by G.",
    "lr_d": "D's learning rate.",
    "lr_g": "G's learning rate.",
}

REPLAY_UPDATES = ("joint", "separate")
UPDATE_ORDERS = ("alternating", "simultaneous")


class GANTrainer(keras_workarounds.FitModel):
    """Class-conditional (or unconditional, `num_classes=0`) GAN trainer, built from parts.

    Args:
        generator: `G(z, labels, training)` -> images `[B, H, W, C]` in [-1, 1].
        discriminator: `D(images, labels, training)` -> dict with `"logits"` `[B]` and, for
            auxiliary-classifier heads, `"class_logits"` `[B, C]`.
        z_dim: latent size.
        num_classes: C; 0 for unconditional models (labels are then ignored).
        n_disc: D steps per iteration; each consumes its own real batch and draws its own fakes.
        seed: owner of every random tensor drawn by the trainer.
        latent_sampler: `fn(shape, seed) -> z` (`normal_latents`, `uniform_latents`).
        loss: the loss composition (`losses.AdversarialLoss` or a preset such as
            `@FastGANLoss()`); default hinge.
        real_transform: D's real inputs: None, `@PGDAttack()` or `@FreeAdversarial()`
            (`algorithms.real_inputs`).
        d_replays: D updates per D step on ONE fake batch (FastGAN's M free replays; 1 otherwise).
        latent_transform: None or `@LatentOptimization()` (`algorithms.latents`, LOGAN).
        batch: the batch composition: None (standard) or `@FakeAsReal()` (`algorithms.batches`).
        penalty: None, `@SamplePenalty()` (0-GP on the samples D calls real; R1) or
            `@InterpolationPenalty()` (0-GP on interpolates; WGAN-GP with `center = 1`).
        replay_update: `"joint"` (default): each D update is ONE optimiser step on
            `L_D^r + L_D^f`, as the FastGAN thesis (Zhong 2020, Alg. 2) and the authors' code do;
            `"separate"`: FastGAN paper Alg. 1 read literally, a step on `L_D^r` (whose backward
            pass also gives the input gradient), then `L_D^f`'s gradient at the updated weights
            and a second step.
        augment: None or `@DiffAugment()` (`tfgan_fast.algorithms.diffaugment`, Zhao et al.
            2020): every image D sees in the D and G updates, real and fake, is transformed
            first (FastGAN's perturbation is added to the raw reals, then augmented; a penalty's
            gradient is taken at the augmented points; PGD's attack, fake-as-real scoring and
            LOGAN's latent step see the images unaugmented).
        update_order: `"alternating"` (default): D steps, then a G step on fresh latents, as
            DeepMind's later LOGAN code and every other method here; `"simultaneous"`: LOGAN
            paper Alg. 1 read literally, `L_D` and `L_G` from ONE batch of (optimized) latents
            per iteration and both networks updated from the same forward pass.
        ema: None, or a `tfgan_fast.algorithms.ema.GeneratorEMA` (`run.ema`) that each
            iteration updates, attached to G and its average before the first `fit`; it is
            checkpointed with the trainer.
        steps_per_execution: iterations per call of the training function (Keras'
            `compile(steps_per_execution=...)`, which this sets unless `compile` is given its
            own). `run.experiment` builds with 1 and sets `run.steps_per_execution` (lowered
            to end executions on its intervals) after the restore (`set_steps_per_execution`).

    A combination that cannot work raises ValueError here, naming the parts (e.g. a free
    adversarial perturbation with a gradient penalty, whose own pass hides the input gradient).
    """

    def __init__(self, generator, discriminator, z_dim, num_classes, n_disc=1, seed=0,
                 latent_sampler=normal_latents, loss=None, real_transform=None, d_replays=1,
                 latent_transform=None, batch=None, penalty=None, replay_update="joint",
                 update_order="alternating", augment=None, ema=None, steps_per_execution=1,
                 **kwargs):
        super().__init__(**kwargs)
        if int(steps_per_execution) != steps_per_execution or steps_per_execution < 1:
            raise ValueError(f"steps_per_execution must be an integer >= 1, got "
                             f"{steps_per_execution!r}")
        self._requested_steps_per_execution = int(steps_per_execution)
        if n_disc < 1:
            raise ValueError(f"n_disc must be >= 1, got {n_disc}")
        if d_replays < 1:
            raise ValueError(f"d_replays must be >= 1, got {d_replays}")
        if replay_update not in REPLAY_UPDATES:
            raise ValueError(f"replay_update must be one of {REPLAY_UPDATES}, got "
                             f"{replay_update!r}")
        if update_order not in UPDATE_ORDERS:
            raise ValueError(f"update_order must be one of {UPDATE_ORDERS}, got "
                             f"{update_order!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.z_dim = int(z_dim)
        self.num_classes = int(num_classes)
        self.n_disc = int(n_disc)
        self.seed = int(seed)
        self.latent_sampler = latent_sampler
        self.loss = loss if loss is not None else losses_lib.AdversarialLoss()
        self.real_transform = (real_transform if real_transform is not None
                               else real_inputs.RealTransform())
        self.d_replays = int(d_replays)
        self.latent_transform = latent_transform
        self.batch = batch if batch is not None else batches_lib.StandardBatch()
        self.penalty = penalty
        self.replay_update = replay_update
        self.update_order = update_order
        self.augment = augment
        for part in (self.real_transform, self.latent_transform):
            if part is not None:
                part.check(self)
        self._check_orders()
        self._check_pairwise()
        self.iteration = self.add_weight(
            name="iteration", shape=(), dtype="int64", initializer="zeros", trainable=False,
            aggregation="only_first_replica")
        self.g_optimizer = None
        self.d_optimizer = None
        self.ema = ema
        # Dynamic loss scales of D's and G's updates (`precision.DynamicLossScale`), made by
        # `build_all` when the networks compute in float16; None otherwise.
        self.d_loss_scale = self.g_loss_scale = None

    @property
    def pairwise(self):
        """Whether the loss pairs each real with a fake (RpGAN, `losses.RelativisticLoss`)."""
        return getattr(self.loss, "pairwise", False)

    def _check_pairwise(self):
        if not self.pairwise:
            return
        problems = []
        if self.batch.name != "standard":
            problems.append(f"{self.batch!r} (N1 reals against M fakes)")
        if self.real_transform.name == "PGD":
            problems.append("PGDAttack (it ascends a real-only loss term)")
        if self.replay_update != "joint" or self.update_order != "alternating":
            problems.append("replay_update = 'separate' or update_order = 'simultaneous'")
        if problems:
            raise ValueError(f"{self.loss!r} pairs each real with a fake; it does not compose "
                             "with " + "; ".join(problems))

    def _check_orders(self):
        latent_through = (self.latent_transform is not None
                          and self.latent_transform.d_gradient_through)
        if self.replay_update == "separate" and latent_through:
            raise ValueError(
                "replay_update = 'separate' updates D on the fakes after its real step, but the "
                "latent transform makes them inside one joint update: bind "
                "stop_gradient_d = True or replay_update = 'joint'")
        if self.update_order == "simultaneous":
            problems = []
            if self.n_disc != 1 or self.d_replays != 1:
                problems.append(f"n_disc = {self.n_disc}, d_replays = {self.d_replays} (need 1)")
            if self.real_transform.name != "none":
                problems.append(f"a real-input transform ({self.real_transform.name})")
            if self.batch.name != "standard" or self.penalty is not None:
                problems.append("a fake-as-real batch or a penalty")
            lt = self.latent_transform
            if lt is not None and lt.stop_gradient_d != lt.stop_gradient_g:
                problems.append("different stop_gradient_d and stop_gradient_g (one z' serves "
                                "both losses)")
            if problems:
                raise ValueError("update_order = 'simultaneous' (LOGAN paper Alg. 1) updates D "
                                 "and G from one forward pass; it does not compose with "
                                 + "; ".join(problems))

    def parameter_counts(self):
        """`(G's, D's)` numbers of trainable parameters."""
        return tuple(sum(int(tf.size(v)) for v in net.trainable_variables)
                     for net in (self.generator, self.discriminator))

    def describe_parts(self):
        """One line per part of the step (for logs and `--dry_run`)."""
        return [f"loss: {self.loss!r}",
                f"real inputs: {self.real_transform.name}",
                f"D: {self.n_disc} step(s) per iteration, {self.d_replays} update(s) per step",
                f"latents: {self.latent_transform!r}" if self.latent_transform else
                "latents: as sampled",
                f"batch: {self.batch!r}",
                f"penalty: {self.penalty!r}" if self.penalty else "penalty: none",
                f"updates: {self.update_order}, replays {self.replay_update}",
                f"augment: {self.augment!r}" if self.augment else "augment: none"]

    # --- set-up ---------------------------------------------------------------------------

    @property
    def real_batches_per_iteration(self):
        """How many per-replica real batches one `train_step` consumes (the data is batched so)."""
        return self.n_disc

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        kwargs.setdefault("steps_per_execution", self._requested_steps_per_execution)
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    def build_all(self, per_replica_batch_size, image_shape):
        """Create every variable (nets, optimiser slots, algorithm state). Call inside the scope.

        Keras would otherwise build the models by feeding data, or create optimiser slots lazily
        inside the replica step, which fails under MirroredStrategy.
        """
        z = tf.zeros([2, self.z_dim])
        labels = tf.zeros([2], tf.int32) if self.num_classes else None
        images = self.generator(z, labels, training=False)
        self.discriminator(images, labels, training=False)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        if any(precision.needs_loss_scaling(net.compute_dtype)
               for net in (self.generator, self.discriminator)):
            self.d_loss_scale = precision.DynamicLossScale(name="d")
            self.g_loss_scale = precision.DynamicLossScale(name="g")
        self.build_state(per_replica_batch_size, tuple(image_shape))
        self.built = True

    def build_state(self, per_replica_batch_size, image_shape):
        """Creates the parts' state variables (FastGAN's perturbation)."""
        self.real_transform.build(self, per_replica_batch_size, image_shape)

    def initialize_state(self):
        """Initialises the parts' state; runs in replica context (`strategy.run`)."""
        self.real_transform.initialize(self)

    def state_variables(self):
        """State outside the networks (e.g. FastGAN's perturbation)."""
        return self.real_transform.variables()

    def checkpoint_items(self):
        """Everything a checkpoint must hold to resume this trainer exactly."""
        return {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "g_optimizer": self.g_optimizer,
            "d_optimizer": self.d_optimizer,
            "iteration": self.iteration,
            **({} if self.ema is None else {"generator_ema": self.ema.generator,
                                            "ema_updates": self.ema.updates}),
            **({} if self.d_loss_scale is None else {"d_loss_scale": self.d_loss_scale,
                                                    "g_loss_scale": self.g_loss_scale}),
            **self.real_transform.checkpoint_items(self.distribute_strategy),
        }

    def call(self, inputs, training=False):
        z, labels = inputs
        return self.generator(z, labels, training=training)

    # --- randomness -------------------------------------------------------------------------

    def step_random(self, substep=0):
        """The random streams of this iteration's D step `substep` (or of its G step, 0)."""
        return randomness.StepRandom(self.seed, self.iteration, substep)

    def sample_latents(self, local_batch, salt, rng):
        """This replica's rows of a global batch of latents, `[local_batch, z_dim]`."""
        seed = rng.seed(salt)
        return distribute.replica_rows(lambda shape: self.latent_sampler(shape, seed),
                                       [local_batch, self.z_dim])

    def sample_labels(self, local_batch, salt, rng):
        """`y ~ Uniform{0..C-1}`, this replica's rows, int32 `[local_batch]`; None if C = 0."""
        if not self.num_classes:
            return None
        seed = rng.seed(salt)
        return distribute.replica_rows(
            lambda shape: tf.random.stateless_uniform(shape, seed=seed, minval=0,
                                                      maxval=self.num_classes, dtype=tf.int32),
            [local_batch])

    def step_latents(self, n, step, rng):
        """`(z' [n, z_dim], y [n] or None, R_z [n] or None)` of a D or G `step`: fresh latents
        and labels, through the latent transform if there is one."""
        latent_salt, label_salt = ((Salt.D_LATENTS, Salt.D_LABELS) if step == "discriminator"
                                   else (Salt.G_LATENTS, Salt.G_LABELS))
        z = self.sample_latents(n, latent_salt, rng)
        labels = self.sample_labels(n, label_salt, rng)
        if self.latent_transform is None:
            return z, labels, None
        z, penalty = self.latent_transform(self, z, labels, step, rng)
        return z, labels, penalty

    def sampling_latent_transform(self, num_steps):
        """`fn(z, labels) -> z`: the latent transform's updates at sampling time (LOGAN's
        `Evaluator.latent_steps`, `tools/evaluate.py --latent_steps`)."""
        if self.latent_transform is None:
            raise ValueError("this trainer has no latent transform to run at sampling time "
                             "(bind latent_transform = @LatentOptimization(), as LOGAN does)")
        return self.latent_transform.sampling_transform(self, num_steps)

    # --- the loop -----------------------------------------------------------------------------

    def train_step(self, data):
        images, labels = data
        chunks = self.real_batches_per_iteration
        local_batch = images.shape[0] // chunks if images.shape[0] else None
        if local_batch is None:
            raise ValueError("the training data must have a static batch size "
                             "(batch with drop_remainder=True)")
        logs = {
            "lr_d": tf.cast(self.d_optimizer.learning_rate, tf.float32),
            "lr_g": tf.cast(self.g_optimizer.learning_rate, tf.float32),
        }
        if self.update_order == "simultaneous":
            logs.update(self.simultaneous_step(images, labels, self.step_random()))
        else:
            for i in range(self.n_disc):
                k = i % chunks
                sl = slice(k * local_batch, (k + 1) * local_batch)
                with self._scaling(self.d_loss_scale):
                    logs.update(self.discriminator_step(
                        images[sl], None if labels is None else labels[sl],
                        self.step_random(i)))
            reals = {}
            if self.pairwise:  # RpGAN's G step pairs its fakes with the iteration's reals
                reals = {"real_images": images[:local_batch],
                         "real_labels": None if labels is None else labels[:local_batch]}
            with self._scaling(self.g_loss_scale):
                logs.update(self.generator_step(local_batch, self.step_random(), **reals))
        for scale in (self.d_loss_scale, self.g_loss_scale):
            if scale is not None:
                logs.update(scale.logs())
        if self.ema is not None:
            # In cross-replica context: the averaged variables are ordinary mirrored ones.
            tf.distribute.get_replica_context().merge_call(
                lambda _: self.ema.update(self.iteration))
        self.iteration.assign_add(1)
        return logs

    @staticmethod
    def _scaling(loss_scale):
        """Gradients taken inside belong to the update of `loss_scale` (none: float32)."""
        return contextlib.nullcontext() if loss_scale is None else loss_scale.scaling()

    @staticmethod
    def _apply(optimizer, loss_scale, grads, variables, checked=()):
        """One optimiser update; with a loss scale, skipped on an overflow (`checked`: other
        gradients of the update that must be finite too). Returns whether it was skipped
        (None without a loss scale)."""
        if loss_scale is None:
            optimizer.apply_gradients(zip(grads, variables))
            return None
        return loss_scale.apply(optimizer, grads, variables, checked)

    @staticmethod
    def _unless_skipped(skipped, input_gradient):
        """The input gradient of an update, zero when the update was skipped (then FastGAN's
        signed step leaves the perturbation where it is)."""
        if skipped is None or input_gradient is None:
            return input_gradient
        return tf.where(skipped, tf.zeros_like(input_gradient), input_gradient)

    # --- the D step ---------------------------------------------------------------------------

    def make_fake_batch(self, local_batch, rng):
        """The D step's fakes: `M` fakes and `K` fake-as-real candidates from one G call, the
        latent transform's `R_z` of the fakes, and the candidates counted as real."""
        _, n0, m, k = self.batch.sizes(local_batch)
        z, labels, latent_penalty = self.step_latents(m + k, "discriminator", rng)
        generated = self.generator(z, labels, training=True)
        if self.latent_transform is None or not self.latent_transform.d_gradient_through:
            # No path from D's weights to the fakes: skip back-propagating through G.
            generated = tf.stop_gradient(generated)
        if not k:
            return FakeBatch(generated, labels, latent_penalty, None, None, {})
        fakes, candidates = generated[:m], generated[m:]
        fake_labels = None if labels is None else labels[:m]
        candidate_labels = None if labels is None else labels[m:]
        if latent_penalty is not None:
            latent_penalty = latent_penalty[:m]
        far, far_labels, logs = self.batch.select(self, candidates, candidate_labels, n0)
        return FakeBatch(fakes, fake_labels, latent_penalty, far, far_labels, logs)

    def discriminator_step(self, real_images, real_labels, rng):
        """One D step: one fake batch, `d_replays` D updates on it; returns scalar logs."""
        local_batch = real_images.shape[0]
        n1, _, _, _ = self.batch.sizes(local_batch)
        if n1 < local_batch:  # fake-as-real: N1 = N - N0 of the reals
            real_images = real_images[:n1]
            real_labels = None if real_labels is None else real_labels[:n1]
        through = self.latent_transform is not None and self.latent_transform.d_gradient_through
        # Made inside D's tape when D's gradient reaches its weights through the latent step
        # (LOGAN, eq. 6; one replay, checked), else once, before the updates.
        fake_batch = None if through else self.make_fake_batch(local_batch, rng)
        for _ in range(self.d_replays):
            inputs, transform_logs = self.real_transform.apply(self, real_images, real_labels,
                                                               rng)
            logs, grad_x = self.discriminator_update(
                inputs, real_labels,
                fake_batch if fake_batch is not None else (
                    lambda: self.make_fake_batch(local_batch, rng)),
                rng, input_gradient=self.real_transform.needs_input_gradient)
            self.real_transform.after_update(grad_x)
        logs.update(transform_logs)
        logs.update(self.real_transform.step_logs())
        return logs

    def discriminator_update(self, real_inputs, real_labels, fake_batch, rng,
                             input_gradient=False):
        """One D optimiser step on `L_D^r(positives) + L_D^f(fakes) (+ R_z) (+ penalty)`.

        Without a penalty D sees positives and fakes in ONE call (`discriminate_both`). A penalty
        takes D's outputs on the positives from its own input-gradient pass, and D sees the
        fakes in a second call.

        Args:
            real_inputs: `[N1, ...]` real images as D should see them (perturbed or not).
            real_labels: int `[N1]` or None.
            fake_batch: a `FakeBatch`, or `fn() -> FakeBatch` called inside the gradient tape
                (so D's gradient also reaches through fakes that depend on D: LOGAN).
            rng: the D step's `StepRandom` (the penalty's interpolation coefficients).
            input_gradient: also return `dL_D^r / d real_inputs` from the same backward pass
                (FastGAN's free adversarial update).

        Returns:
            `(logs, grad)`: a dict of scalar logs (local means) and the input gradient
            `[N1, ...]` (None unless asked).
        """
        if self.replay_update == "separate":
            return self._separate_update(real_inputs, real_labels, fake_batch, rng,
                                         input_gradient)
        n1 = real_inputs.shape[0]
        with tf.GradientTape() as tape:
            if input_gradient:
                tape.watch(real_inputs)
            fb = fake_batch() if callable(fake_batch) else fake_batch
            positives, positive_labels, fakes = self._positives(real_inputs, real_labels, fb,
                                                                rng)
            if self.penalty is None:
                pos_out, fake_out = self.discriminate_both(positives, positive_labels, fakes,
                                                           fb.labels)
                grad_penalty = None
            else:
                grad_penalty, pos_out, fake_out = self._penalty(positives, positive_labels,
                                                                fakes, fb.labels, rng)
            if self.pairwise:  # RpGAN: one term per (real, fake) pair
                real_loss, real_parts = self.loss.d_pair(pos_out, fake_out, positive_labels,
                                                         fb.labels)
                fake_loss, fake_parts = tf.zeros_like(real_loss), {}
            else:
                real_loss, real_parts = self.loss.d_real(pos_out, positive_labels)
                fake_loss, fake_parts = self.loss.d_fake(fake_out, fb.labels)
            fake_total = fake_loss if fb.latent_penalty is None else fake_loss + fb.latent_penalty
            total = distribute.replica_loss(real_loss) + distribute.replica_loss(fake_total)
            if grad_penalty is not None:
                total = total + distribute.replica_loss(grad_penalty)
        variables = self.discriminator.trainable_variables
        sources = variables + ([real_inputs] if input_gradient else [])
        grads = precision.scaled_gradient(tape, total, sources)
        skipped = self._apply(self.d_optimizer, self.d_loss_scale, grads[:len(variables)],
                              variables, grads[len(variables):])
        logs = self._discriminator_logs(real_loss, real_parts, fake_loss, fake_parts, fake_total,
                                        fb, pos_out, fake_out, n1, grad_penalty)
        logs.update(fb.logs)
        # L_D^f does not depend on the reals, so this is dL_D^r / d real_inputs.
        return logs, self._unless_skipped(skipped, grads[-1] if input_gradient else None)

    def discriminate_both(self, first, first_labels, second, second_labels):
        """D's outputs on two batches from ONE call on their concatenation: `(outputs on
        first, outputs on second)`, dicts of `[len(first), ...]` and `[len(second), ...]`.

        Our discriminators have no batch coupling (no batch norm), so one call equals two, is
        faster, and advances spectral norm's power iteration once per update. Labels are passed
        when both batches have them (conditional D), else None.
        """
        labels = None
        if first_labels is not None and second_labels is not None:
            labels = tf.concat([tf.cast(first_labels, tf.int32),
                                tf.cast(second_labels, tf.int32)], axis=0)
        outputs = self.discriminator(tf.concat([first, second], axis=0), labels, training=True)
        n = first.shape[0]
        return ({k: v[:n] for k, v in outputs.items()}, {k: v[n:] for k, v in outputs.items()})

    def _augmented(self, positives, fakes, rng, step):
        """`(T(positives), T(fakes))` with `augment`, each batch its own draws; unchanged
        without."""
        if self.augment is None:
            return positives, fakes
        seed = rng.seed(Salt.D_AUGMENT if step == "discriminator" else Salt.G_AUGMENT)
        fold = tf.random.experimental.stateless_fold_in
        return (None if positives is None else self.augment(positives, fold(seed, 0)),
                self.augment(fakes, fold(seed, 1)))

    def _positives(self, real_inputs, real_labels, fb, rng):
        """What D sees: its positives (reals, then the fakes counted as real), their labels,
        and the fakes, augmented with `augment`."""
        positives = tf.cast(real_inputs, fb.fakes.dtype)
        labels = None if real_labels is None else tf.cast(real_labels, tf.int32)
        if fb.far is not None:
            positives = tf.concat([positives, fb.far], axis=0)
            if labels is not None and fb.far_labels is not None:
                labels = tf.concat([labels, fb.far_labels], axis=0)
        positives, fakes = self._augmented(positives, fb.fakes, rng, "discriminator")
        return positives, labels, fakes

    def _penalty(self, positives, positive_labels, fakes, fake_labels, rng, fakes_pass=True):
        """`(per-example penalty, D's outputs on the positives, on the fakes)`: the penalty's
        pass gives the first two (and the third for `R1R2Penalty`); else, with `fakes_pass`, a
        second call of D on the fakes."""
        result = self.penalty(lambda x, y: self.discriminator(x, y, training=True), positives,
                              positive_labels, fakes, fake_labels, rng.seed(Salt.INTERPOLATION))
        grad_penalty, pos_out = result[0], result[1]
        fake_out = result[2] if len(result) > 2 else None
        if fake_out is None and fakes_pass:
            fake_out = {k: tf.cast(v, tf.float32) for k, v in
                        self.discriminator(fakes, fake_labels, training=True).items()}
        return grad_penalty, pos_out, fake_out

    def _separate_update(self, real_inputs, real_labels, fb, rng, input_gradient):
        """`replay_update = 'separate'` (FastGAN paper Alg. 1, lines 8-12): a D step on the
        real loss (and penalty), then one on the fake loss at the updated weights."""
        n1 = real_inputs.shape[0]
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            if input_gradient:
                tape.watch(real_inputs)
            positives, positive_labels, fakes = self._positives(real_inputs, real_labels, fb,
                                                                rng)
            grad_penalty = None
            if self.penalty is None:
                pos_out = self.discriminator(positives, positive_labels, training=True)
            else:
                grad_penalty, pos_out, _ = self._penalty(positives, positive_labels, fakes,
                                                         fb.labels, rng, fakes_pass=False)
            real_loss, real_parts = self.loss.d_real(pos_out, positive_labels)
            total = distribute.replica_loss(real_loss)
            if grad_penalty is not None:
                total = total + distribute.replica_loss(grad_penalty)
        grads = precision.scaled_gradient(
            tape, total, variables + ([real_inputs] if input_gradient else []))
        skipped = self._apply(self.d_optimizer, self.d_loss_scale, grads[:len(variables)],
                              variables, grads[len(variables):])
        with tf.GradientTape() as tape:
            fake_out = self.discriminator(fakes, fb.labels, training=True)
            fake_loss, fake_parts = self.loss.d_fake(fake_out, fb.labels)
            fake_total = fake_loss if fb.latent_penalty is None else fake_loss + fb.latent_penalty
            total = distribute.replica_loss(fake_total)
        self._apply(self.d_optimizer, self.d_loss_scale,
                    precision.scaled_gradient(tape, total, variables), variables)
        logs = self._discriminator_logs(real_loss, real_parts, fake_loss, fake_parts, fake_total,
                                        fb, pos_out, fake_out, n1, grad_penalty)
        logs.update(fb.logs)
        return logs, self._unless_skipped(skipped, grads[-1] if input_gradient else None)

    def simultaneous_step(self, real_images, real_labels, rng):
        """`update_order = 'simultaneous'` (LOGAN paper Alg. 1): one batch of latents per
        iteration, optimized once; `L_D` and `L_G` from one forward pass at `z'` (each plus
        `R_z`), and both networks updated from their gradients of it."""
        batch = real_images.shape[0]
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        with tf.GradientTape(persistent=True) as tape, self._scaling(self.d_loss_scale):
            # One latent step serves both losses: its gradient is scaled as D's.
            z, labels, latent_penalty = self.step_latents(batch, "discriminator", rng)
            fakes = self.generator(z, labels, training=True)
            fb = FakeBatch(fakes, labels, latent_penalty, None, None, {})
            positives, positive_labels, fakes = self._positives(real_images, real_labels, fb, rng)
            pos_out, fake_out = self.discriminate_both(positives, positive_labels, fakes, labels)
            real_loss, real_parts = self.loss.d_real(pos_out, positive_labels)
            fake_loss, fake_parts = self.loss.d_fake(fake_out, labels)
            g_loss, g_parts = self.loss.g(fake_out, labels)
            fake_total = fake_loss
            if latent_penalty is not None:
                fake_total = fake_loss + latent_penalty
                g_loss = g_loss + latent_penalty
                g_parts = dict(g_parts, g_latent_penalty=latent_penalty)
            d_total = distribute.replica_loss(real_loss) + distribute.replica_loss(fake_total)
            g_total = distribute.replica_loss(g_loss)
        with self._scaling(self.d_loss_scale):
            d_grads = precision.scaled_gradient(tape, d_total, d_vars)
        with self._scaling(self.g_loss_scale):
            g_grads = precision.scaled_gradient(tape, g_total, g_vars)
        del tape
        self._apply(self.d_optimizer, self.d_loss_scale, d_grads, d_vars)
        self._apply(self.g_optimizer, self.g_loss_scale, g_grads, g_vars)
        logs = self._discriminator_logs(real_loss, real_parts, fake_loss, fake_parts, fake_total,
                                        fb, pos_out, fake_out, batch, None)
        logs["g_loss"] = tf.reduce_mean(g_loss)
        logs.update({k: tf.reduce_mean(v) for k, v in g_parts.items()})
        return logs

    def _discriminator_logs(self, real_loss, real_parts, fake_loss, fake_parts, fake_total, fb,
                            pos_out, fake_out, n1, grad_penalty):
        logs = {"d_loss": tf.reduce_mean(real_loss) + tf.reduce_mean(fake_total),
                "d_loss_real": tf.reduce_mean(real_loss),
                "d_loss_fake": tf.reduce_mean(fake_loss)}
        if fb.latent_penalty is not None:
            logs["d_latent_penalty"] = tf.reduce_mean(fb.latent_penalty)
        logs.update({k: tf.reduce_mean(v) for k, v in {**real_parts, **fake_parts}.items()})
        real_logits = pos_out["logits"][:n1]
        logs["d_real_acc"] = tf.reduce_mean(tf.cast(real_logits > 0, tf.float32))
        logs["d_fake_acc"] = tf.reduce_mean(tf.cast(fake_out["logits"] < 0, tf.float32))
        if grad_penalty is not None:
            logs["d_penalty"] = tf.reduce_mean(grad_penalty)
            logs["d_real_logit"] = tf.reduce_mean(real_logits)
            logs["d_fake_logit"] = tf.reduce_mean(fake_out["logits"])
        if fb.far is not None:
            logs["d_far_logit"] = tf.reduce_mean(pos_out["logits"][n1:])
        return logs

    # --- the G step ---------------------------------------------------------------------------

    def generator_step(self, local_batch, rng, real_images=None, real_labels=None):
        """Fresh `z, y_f` (transformed); minimise `L_G(D(G(z', y_f)), y_f) (+ R_z)` over G.

        A pairwise loss (RpGAN) also takes `real_images` (and `real_labels`), D's reals beside
        the fakes."""
        _, _, m, _ = self.batch.sizes(local_batch)
        with tf.GradientTape() as tape:
            z, labels, penalty = self.step_latents(m, "generator", rng)
            fakes = self.generator(z, labels, training=True)
            reals = None if real_images is None else tf.cast(real_images, fakes.dtype)
            reals, fakes = self._augmented(reals, fakes, rng, "generator")
            if self.pairwise:
                real_out, fake_out = self.discriminate_both(reals, real_labels, fakes, labels)
                per_example, parts = self.loss.g_pair(real_out, fake_out, labels)
            else:
                outputs = self.discriminator(fakes, labels, training=True)
                per_example, parts = self.loss.g(outputs, labels)
            if penalty is not None:
                per_example = per_example + penalty
                parts = dict(parts, g_latent_penalty=penalty)
            loss = distribute.replica_loss(per_example)
        variables = self.generator.trainable_variables
        self._apply(self.g_optimizer, self.g_loss_scale,
                    precision.scaled_gradient(tape, loss, variables), variables)
        logs = {"g_loss": tf.reduce_mean(per_example)}
        logs.update({k: tf.reduce_mean(v) for k, v in parts.items()})
        return logs

    # --- sampling -----------------------------------------------------------------------------

    def generate(self, z, labels=None):
        """Images for evaluation and export (BN in inference mode)."""
        return self.generator(z, labels, training=False)

    def generate_ema(self, z, labels=None):
        """Images of the averaged generator (`run.ema`), BN in inference mode."""
        if self.ema is None:
            raise ValueError("this run keeps no EMA of G (bind run.ema = @GeneratorEMA())")
        return self.ema.generator(z, labels, training=False)
