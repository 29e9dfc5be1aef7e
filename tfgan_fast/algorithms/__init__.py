"""The training step and all of its parts, chosen by gin; the papers' methods as presets.

- `base.py`: `GANTrainer`, the one training step, taking its parts as constructor arguments;
  `keras_workarounds.py`: the two Keras overrides it needs under tf.distribute.
- The parts: `losses.py` (per-example losses and their compositions), `penalties.py` (gradient
  penalties), `real_inputs.py` (real-input transforms, with the PGD and free-adversarial cores),
  `latents.py` (latent samplers and transforms, with LOGAN's latent steps), `batches.py` (batch
  compositions), `diffaugment.py` (DiffAugment).
- Around the step: `ema.py` (the EMA of G), `optimizers.py` (optimiser factories),
  `schedules.py` (learning-rate schedules on the iteration).
- `presets.py`: `StandardGAN`, `FastGAN`, `RobGAN`, `FARGAN`, `LOGAN`, `R3GAN`.

Trainers are registered with `gin.external_configurable` (a `@gin.configurable` decorator on a
Keras Model subclass breaks Keras 3 model creation). Importing this package registers every
part's configurables.
"""

# pylint: disable=unused-import
from tfgan_fast.algorithms import diffaugment  # noqa: F401
from tfgan_fast.algorithms import ema  # noqa: F401
from tfgan_fast.algorithms import losses  # noqa: F401
from tfgan_fast.algorithms import optimizers  # noqa: F401
from tfgan_fast.algorithms import penalties  # noqa: F401
from tfgan_fast.algorithms import schedules  # noqa: F401
# pylint: enable=unused-import
from tfgan_fast.algorithms.base import GANTrainer
from tfgan_fast.algorithms.batches import FakeAsReal, select_fake_as_real
from tfgan_fast.algorithms.latents import LatentOptimization
from tfgan_fast.algorithms.presets import FARGAN, LOGAN, R3GAN, FastGAN, RobGAN, StandardGAN
from tfgan_fast.algorithms.real_inputs import FreeAdversarial, PGDAttack

__all__ = ["GANTrainer", "FastGAN", "StandardGAN", "RobGAN", "FARGAN", "LOGAN", "R3GAN",
           "FreeAdversarial", "PGDAttack", "LatentOptimization", "FakeAsReal",
           "select_fake_as_real"]


def scalar_descriptions():
    """`{log name: TensorBoard description}` of every scalar a training step can log, as the
    trainer and its parts declare them (their `SCALARS`)."""
    # pylint: disable=import-outside-toplevel
    from tfgan_fast.algorithms import base, batches, latents, real_inputs
    from tfgan_fast.runtime import precision
    described = {}
    for module in (base, losses, penalties, real_inputs, latents, batches, precision):
        for name, text in module.SCALARS.items():
            if described.get(name, text) != text:
                raise ValueError(f"two parts describe the log {name!r} differently")
            described[name] = text
    return described
