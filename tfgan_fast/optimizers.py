"""Optimiser factories besides `algorithms.base.make_optimizer` (Adam-style, betas).

`make_rmsprop` is FARGAN's CIFAR optimiser (Tao & Wang 2020, §6.2: RMSProp, alpha = 0.99, lr 1e-4),
bound as `run.d_optimizer = @make_rmsprop` / `run.g_optimizer = @make_rmsprop`.
"""

import gin
import keras


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
    lr = (lambda: schedule(iteration)) if schedule is not None else learning_rate
    return keras.optimizers.RMSprop(learning_rate=lr, rho=rho, epsilon=epsilon)


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
    lr = (lambda: schedule(iteration)) if schedule is not None else learning_rate
    return keras.optimizers.SGD(learning_rate=lr, momentum=momentum)
