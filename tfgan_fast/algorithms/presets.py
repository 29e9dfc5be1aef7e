"""The papers' methods as named compositions of `GANTrainer`'s parts.

| preset | real inputs | D updates per step | latents | batch | penalty | default loss |
|---|---|---|---|---|---|---|
| `StandardGAN` (SNGAN, SNGAN(AC), SAGAN) | as they are | 1 | sampled | standard | none | hinge |
| `FastGAN` (Zhong et al. 2020) | `FreeAdversarial` | M = `free_steps` | sampled | standard | none | `FastGANLoss` |
| `RobGAN` (Liu & Hsieh 2019) | `PGDAttack` | 1 | sampled | standard | none | `RobGANLoss` |
| `FARGAN` (Tao & Wang 2020) | as they are | 1 | sampled | `FakeAsReal` | `SamplePenalty` | NSGAN |
| `LOGAN` (Wu et al. 2019) | as they are | 1 | `LatentOptimization` | standard | none | hinge |
| `R3GAN` (Huang et al. 2024) | as they are | 1 | sampled | standard | `R1R2Penalty` | `RelativisticLoss` |

Each preset takes its paper's arguments and passes every other keyword to `GANTrainer`, so a
part the preset leaves open can be added by gin: `FastGAN.latent_transform =
@LatentOptimization()` is FastGAN with LOGAN's latents, `StandardGAN.real_transform =
@FreeAdversarial()` SNGAN with free adversarial training. A part the preset fixes cannot be
bound a second time (two latent transforms, two real-input transforms): that fails at
configuration time, naming both.
"""

import gin

from tfgan_fast.algorithms import base
from tfgan_fast.algorithms import batches
from tfgan_fast.algorithms import latents
from tfgan_fast.algorithms import losses as losses_lib
from tfgan_fast.algorithms import penalties
from tfgan_fast.algorithms import real_inputs


def _fixed(owner, kwargs, **parts):
    """Rejects a binding of a part that the preset `owner` sets itself."""
    for key, what in parts.items():
        if kwargs.get(key) is not None:
            raise ValueError(f"{owner} sets its own {key} ({what}); a second one "
                             f"({kwargs[key]!r}) does not compose: bind it on @GANTrainer or "
                             "on a preset that leaves it open")


class StandardGAN(base.GANTrainer):
    """Alternating D and G updates with a loss composition (SNGAN, SNGAN(AC), SAGAN).

    SNGAN (Miyato & Koyama 2018): hinge loss, projection discriminator with spectral norm,
    `n_disc = 5`, Adam(2e-4, 0, 0.9), linear decay to 0. SNGAN(AC): the same with an AC head and
    `AdversarialLoss(real_class_weight=1, g_class_weight=1)`. SAGAN (Zhang et al. 2019):
    `n_disc = 1`, spectral norm in G and D, self-attention, two time-scale learning rates
    (D 4e-4, G 1e-4) via the `g/` and `d/` scopes of `make_optimizer`.

    Args:
        **kwargs: for `GANTrainer` (nets, sizes, `n_disc`, `loss` (default hinge) and any part).
    """


class FastGAN(base.GANTrainer):
    """Free adversarial training of D with the improved loss (Zhong et al. 2020, Alg. 1; Zhong
    2020 thesis, Alg. 2).

    Per iteration: one fake batch `x_f = G(z, y_f)` (no G gradient), then M replays on the same
    real and fake batches; each replay does ONE backward pass that gives both D's weight
    gradient and the gradient w.r.t. the perturbed reals, takes one D optimiser step on
    `L_D^r + L_D^f`, and moves the persistent perturbation
    `delta <- clip(delta + tau * sign(g_x), -r, r)`. Then one G step. `delta` persists across
    iterations, one per replica, and is saved in checkpoints.

    One D step per replay on both losses, as the thesis (Alg. 2) and the authors' code do; the
    paper's Alg. 1 read literally (a step on the real loss, then one on the fake loss at the
    updated weights) is `replay_update = 'separate'`.

    Args:
        free_steps: M, replays per D step (2 in Zhong et al. 2020, App. B.1).
        radius: `c_max` of the L-inf ball in [-1, 1] pixel units (0.006 CIFAR, 0.03 ImageNet-143,
            0.01 ImageNet); 0 disables adversarial training (Table 2 ablation) while keeping
            the M replays.
        tau: replay step size; defaults to `radius` (Alg. 1 line 10 uses c_max).
        loss: default `FastGANLoss()`; `@RobGANLoss()` is the Table 2 "RobGAN loss" ablation.
        **kwargs: for `GANTrainer` (nets, sizes, `n_disc`, and open parts such as
            `latent_transform`).
    """

    def __init__(self, *args, free_steps=2, radius=None, tau=None, loss=None, **kwargs):
        if free_steps < 1:
            raise ValueError(f"FastGAN.free_steps must be >= 1, got {free_steps}")
        _fixed("FastGAN", kwargs, real_transform="FreeAdversarial", d_replays="free_steps")
        super().__init__(*args, real_transform=real_inputs.FreeAdversarial(radius, tau),
                         d_replays=free_steps,
                         loss=loss if loss is not None else losses_lib.FastGANLoss(), **kwargs)


class RobGAN(base.GANTrainer):
    """PGD adversarial training of D (Liu & Hsieh 2019; Zhong 2020 thesis, Alg. 1, eq. 2.2-2.3).

    Per D step (`n_disc` per iteration, 5 on CIFAR): start from `sigma ~ U(-r, r)`, take K PGD
    ascent steps on D's real loss, then one D update on `L_D^r(x_r + sigma) + L_D^f(x_f)`; then
    one G step. Unlike FastGAN, every D step pays K extra forward/backward passes and the
    perturbation is not kept.

    Args:
        pgd_steps: K (3 on CIFAR, Zhong et al. 2020, App. B.4).
        radius: the L-inf radius on the [-1, 1] scale (0.006 on CIFAR).
        tau: the PGD step size (0.002 on CIFAR).
        loss: default `RobGANLoss()`; the attack increases its `d_real` part.
        **kwargs: for `GANTrainer`.
    """

    def __init__(self, *args, pgd_steps=3, radius=None, tau=0.002, loss=None, **kwargs):
        if pgd_steps < 0:
            raise ValueError(f"RobGAN.pgd_steps must be >= 0, got {pgd_steps}")
        _fixed("RobGAN", kwargs, real_transform="PGDAttack")
        super().__init__(*args, real_transform=real_inputs.PGDAttack(pgd_steps, radius, tau),
                         loss=loss if loss is not None else losses_lib.RobGANLoss(), **kwargs)


class FARGAN(base.GANTrainer):
    """Fake-as-real GAN with a zero-centred gradient penalty (Tao & Wang 2020, §5.3, Alg. 1).

    Per D step, with global sizes N (reals), M (fakes), f and N0: N1 = N - N0 reals; M + f*N0
    fakes from one G call (no G gradient); among the f*N0 candidates the N0 with the LOWEST
    pre-sigmoid output `D0` count as real (eq. 10); eq. 11 (minimised form):

        L_D = [sum_{N1} l_r(D0(x_i)) + sum_{N0} l_r(D0(y~_i))] / N + mean_M l_f(D0(y_i))
              + k/N sum_{c in reals ∪ D_FAR} ||grad D0(c)||^2

    with `l_r = -log sigma`, `l_f = -log(1 - sigma)` for NSGAN (other families of Table 2 by
    binding `FARGAN.loss`). G step: M fresh fakes, non-saturating. N0 = 0 is the "0GP" baseline
    (NSGAN-0GP-sample); `FARGAN.penalty = @InterpolationPenalty()` gives
    NSGAN-0GP-interpolation (Thanh-Tung et al. 2019); `SamplePenalty.weight = 0.0` plain NSGAN.

    `run.batch_size` is the global N: the data delivers N reals per D step and FARGAN uses the
    first N1 of them (the data sources shuffle, so this only costs input bandwidth). FARGAN is
    unconditional (Tao & Wang 2020 trains without labels): build the networks with
    `num_classes = 0` (`run.unconditional = True` for labelled data sets).

    Args:
        num_far: N0 (32 CIFAR, 16 synthetic; 0 = the 0GP baseline).
        far_factor: f (8; f = 1 picks at random).
        num_fake: M (default N).
        loss: a `losses.AdversarialLoss` (default NSGAN).
        penalty: `SamplePenalty` (default, k = 10) or `InterpolationPenalty`.
        **kwargs: for `GANTrainer`; `num_classes` must be 0.
    """

    def __init__(self, *args, num_far=32, far_factor=8, num_fake=None, loss=None, penalty=None,
                 **kwargs):
        _fixed("FARGAN", kwargs, batch="FakeAsReal")
        num_classes = kwargs.get("num_classes", args[3] if len(args) > 3 else 0)
        if num_classes:
            raise ValueError(
                f"FARGAN is unconditional (Tao & Wang 2020), got num_classes={num_classes}: "
                "bind run.unconditional = True to build label-free networks on a labelled data set")
        super().__init__(
            *args, batch=batches.FakeAsReal(num_far, far_factor, num_fake, owner="FARGAN"),
            penalty=penalty if penalty is not None else penalties.SamplePenalty(),
            loss=loss if loss is not None else losses_lib.AdversarialLoss(
                losses_lib.nonsaturating_d_real, losses_lib.nonsaturating_d_fake,
                losses_lib.nonsaturating_g, name="NSGAN"),
            **kwargs)


class LOGAN(base.GANTrainer):
    """Latent optimisation around the D and G steps (Wu et al. 2019, Alg. 1, alternating updates).

    In both steps `z ~ U(-1, 1)` first moves towards higher `D(G(z))` (`LatentOptimization`,
    `algorithms.latents`), and the step's loss at `z'` gains `R_z = w_r * ||dz||^2`.

    Args:
        latent_step, latent_weight, optimized_fraction, latent_steps, stop_gradient_d,
            stop_gradient_g: of `LatentOptimization` (NGD alpha 0.9 beta 0.1, w_r 0.1, c 0.8, 1
            step, second-order terms kept).
        loss: the loss composition (default hinge).
        latent_sampler: `z ~ U(-1, 1)` (Wu et al. 2019, §5.2.1), consistent with the clipping.
        **kwargs: for `GANTrainer`.
    """

    def __init__(self, *args, latent_step=None, latent_weight=0.1, optimized_fraction=0.8,
                 latent_steps=1, stop_gradient_d=False, stop_gradient_g=False, loss=None,
                 latent_sampler=latents.uniform_latents, **kwargs):
        _fixed("LOGAN", kwargs, latent_transform="LatentOptimization from LOGAN's arguments")
        super().__init__(
            *args, latent_sampler=latent_sampler, loss=loss,
            latent_transform=latents.LatentOptimization(
                latent_step, latent_weight, optimized_fraction, latent_steps, stop_gradient_d,
                stop_gradient_g, owner="LOGAN"),
            **kwargs)


class R3GAN(base.GANTrainer):
    """The modern baseline of Huang, Gokaslan, Kuleshov and Tompkin, "The GAN is dead; long
    live the GAN! A Modern GAN Baseline" (NeurIPS 2024): the relativistic pairing loss (RpGAN,
    `losses.RelativisticLoss`) with zero-centred gradient penalties on reals and on fakes
    (R1 + R2, `penalties.R1R2Penalty`), on our trainer and networks (R3GAN's own networks, its
    gamma and learning-rate schedules are not reproduced; bind them as any other part).

    Args:
        gamma: the penalties' weight, `gamma / 2 * (||grad D(x_r)||^2 + ||grad D(x_f)||^2)`.
        loss: default `RelativisticLoss()`.
        **kwargs: for `GANTrainer`.
    """

    def __init__(self, *args, gamma=0.05, loss=None, **kwargs):
        _fixed("R3GAN", kwargs, penalty="R1R2Penalty")
        super().__init__(*args, penalty=penalties.R1R2Penalty(gamma),
                         loss=loss if loss is not None else losses_lib.RelativisticLoss(),
                         **kwargs)


for _preset in (base.GANTrainer, StandardGAN, FastGAN, RobGAN, FARGAN, LOGAN, R3GAN):
    gin.external_configurable(_preset, module="tfgan_fast")
