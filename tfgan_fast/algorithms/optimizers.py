"""Optimiser factories `fn(iteration) -> optimizer`, bound as `run.g_optimizer` and
`run.d_optimizer`.

`make_optimizer` is the Adam-style default (any Keras optimiser class taking betas and epsilon);
`make_rmsprop` is FARGAN's CIFAR optimiser (Tao & Wang 2020, §6.2: RMSProp, alpha = 0.99, lr 1e-4),
bound as `run.d_optimizer = @make_rmsprop` / `run.g_optimizer = @make_rmsprop`.
"""

import gin
import keras


@gin.configurable(denylist=["iteration"])
def make_optimizer(iteration, optimizer_cls=keras.optimizers.Adam, schedule=None,
                   learning_rate=2e-4, beta_1=0.0, beta_2=0.9, epsilon=1e-8):
    """An optimiser whose learning rate follows `schedule(iteration)`.

    Args:
        iteration: the trainer's iteration variable (schedules count iterations, not optimiser
            steps: FastGAN's D optimiser steps M times per iteration).
        optimizer_cls: a Keras optimiser class taking `beta_1`, `beta_2`, `epsilon` (Adam).
        schedule: a `LearningRateSchedule` of the iteration, or None for a constant
            `learning_rate`.
        learning_rate: used when `schedule` is None.
        beta_1, beta_2, epsilon: Adam's; Zhong et al. 2020 uses (0, 0.9), PyTorch's epsilon 1e-8.
    """
    return optimizer_cls(learning_rate=_rate(iteration, schedule, learning_rate), beta_1=beta_1,
                         beta_2=beta_2, epsilon=epsilon)


def _rate(iteration, schedule, learning_rate):
    """A constant rate, or a callable reading `schedule(iteration)` at each step."""
    return (lambda: schedule(iteration)) if schedule is not None else learning_rate


@gin.configurable(denylist=["iteration"])
def make_rmsprop(iteration, learning_rate=1e-4, rho=0.99, epsilon=1e-16, schedule=None):
    """RMSProp whose learning rate follows `schedule(iteration)` (or is constant).

    Keras divides by `sqrt(v + epsilon)`, PyTorch (the paper's framework) by
    `sqrt(v) + eps` with `eps = 1e-8`; `epsilon = 1e-16 = eps^2` gives the same floor on the
    denominator where it matters (`v -> 0`) and is negligible elsewhere.

    Args:
        iteration: the trainer's iteration variable.
        learning_rate: used when `schedule` is None (1e-4 in Tao & Wang 2020).
        rho: PyTorch's `alpha`, the squared-gradient moving-average decay (0.99 in Tao & Wang 2020).
        epsilon: see above.
        schedule: an optional `LearningRateSchedule` of the iteration.

    Returns:
        A `keras.optimizers.RMSprop`.
    """
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"make_rmsprop.rho must be in [0, 1), got {rho}")
    return keras.optimizers.RMSprop(learning_rate=_rate(iteration, schedule, learning_rate),
                                    rho=rho, epsilon=epsilon)


@gin.configurable(denylist=["iteration"])
def make_sgd(iteration, learning_rate=3e-3, momentum=0.0, schedule=None):
    """Plain SGD (the synthetic-data optimiser of Thanh-Tung et al. 2019's code, lr 3e-3).

    Args:
        iteration: the trainer's iteration variable.
        learning_rate: used when `schedule` is None (3e-3 in Tao & Wang 2020, §6.1).
        momentum: 0 as PyTorch's default.
        schedule: an optional `LearningRateSchedule` of the iteration.

    Returns:
        A `keras.optimizers.SGD`.
    """
    return keras.optimizers.SGD(learning_rate=_rate(iteration, schedule, learning_rate),
                                momentum=momentum)
