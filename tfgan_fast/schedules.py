"""Learning-rate schedules as functions of the training *iteration* (not optimiser steps).

FastGAN's D optimiser steps M times per iteration; the papers' schedules count iterations, so the
trainer evaluates these schedules on its own iteration counter (see `GANTrainer`).
"""

import gin
import keras
import tensorflow as tf


@gin.configurable
@keras.saving.register_keras_serializable(package="tfgan_fast")
class ExponentialHalving(keras.optimizers.schedules.LearningRateSchedule):
    """`lr_t = lr_0 * 0.5^(t / kappa)` (FastGAN paper §4 "Optimizer", Table 5: decay rate 0.5).

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
        self.initial_learning_rate = float(initial_learning_rate)
        self.kappa = float(kappa)
        self.rate = float(rate)

    def __call__(self, step):
        t = tf.cast(step, tf.float32)
        return self.initial_learning_rate * tf.pow(self.rate, t / self.kappa)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "kappa": self.kappa,
                "rate": self.rate}


@gin.configurable
@keras.saving.register_keras_serializable(package="tfgan_fast")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`lr_t = lr_0 * max(0, 1 - t / total_steps)` (SNGAN's linear decay to zero)."""

    def __init__(self, initial_learning_rate=2e-4, total_steps=gin.REQUIRED):
        if total_steps is gin.REQUIRED or total_steps <= 0:
            raise ValueError(f"LinearDecay.total_steps must be > 0, got {total_steps}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = float(total_steps)

    def __call__(self, step):
        t = tf.cast(step, tf.float32)
        return self.initial_learning_rate * tf.maximum(0.0, 1.0 - t / self.total_steps)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "total_steps": self.total_steps}


@gin.configurable
@keras.saving.register_keras_serializable(package="tfgan_fast")
class Constant(keras.optimizers.schedules.LearningRateSchedule):
    """`lr_t = lr_0` (the "constant lr" ablation of Zhong et al. 2020, Table 2)."""

    def __init__(self, initial_learning_rate=2e-4):
        self.initial_learning_rate = float(initial_learning_rate)

    def __call__(self, step):
        del step
        return tf.constant(self.initial_learning_rate, tf.float32)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate}
