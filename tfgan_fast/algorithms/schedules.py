"""Learning-rate schedules as functions of the training *iteration* (not optimiser steps).

FastGAN's D optimiser steps M times per iteration; the papers' schedules count iterations, so the
trainer evaluates these schedules on its own iteration counter (see `GANTrainer`).
"""

import gin
import keras


@gin.configurable
@keras.saving.register_keras_serializable(package="tfgan_fast")
class ExponentialHalving(keras.optimizers.schedules.ExponentialDecay):
    """`lr_t = lr_0 * 0.5^(t / kappa)` (FastGAN paper §4 "Optimizer", Table 5: decay rate 0.5).

    Keras' `ExponentialDecay(lr_0, decay_steps=kappa, decay_rate=rate)`, with the paper's names
    and a length-relative form.

    Args:
        initial_learning_rate: `lr_0`.
        kappa: iterations per halving (80k for FastGAN's 240k CIFAR iterations: 3 halvings).
        rate: the factor per `kappa` iterations.
        total_steps: when set, `kappa = total_steps / halvings` instead: a run of any length
            (e.g. a time-budgeted race) gets the same shape of schedule.
        halvings: with `total_steps`, how many times the rate is multiplied by `rate`.
    """

    def __init__(self, initial_learning_rate=2e-4, kappa=80_000, rate=0.5, total_steps=None,
                 halvings=3.0):
        if total_steps is not None:
            if total_steps <= 0 or halvings <= 0:
                raise ValueError(f"ExponentialHalving.total_steps ({total_steps}) and halvings "
                                 f"({halvings}) must be > 0")
            kappa = total_steps / halvings
        if kappa <= 0:
            raise ValueError(f"ExponentialHalving.kappa must be > 0, got {kappa}")
        super().__init__(float(initial_learning_rate), decay_steps=float(kappa),
                         decay_rate=float(rate))
        self.kappa, self.rate = float(kappa), float(rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "kappa": self.kappa,
                "rate": self.rate}


@gin.configurable
@keras.saving.register_keras_serializable(package="tfgan_fast")
class LinearDecay(keras.optimizers.schedules.PolynomialDecay):
    """`lr_t = lr_0 * max(0, 1 - t / total_steps)` (SNGAN's linear decay to zero): Keras'
    `PolynomialDecay(lr_0, total_steps, end_learning_rate=0, power=1)`."""

    def __init__(self, initial_learning_rate=2e-4, total_steps=gin.REQUIRED):
        if total_steps is gin.REQUIRED or total_steps <= 0:
            raise ValueError(f"LinearDecay.total_steps must be > 0, got {total_steps}")
        super().__init__(float(initial_learning_rate), decay_steps=float(total_steps),
                         end_learning_rate=0.0, power=1.0)
        self.total_steps = float(total_steps)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "total_steps": self.total_steps}
