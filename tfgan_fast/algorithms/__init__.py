"""Training algorithms: `GANTrainer` and its parts, and the papers' methods as presets.

- `base.py`: `GANTrainer`, the one training step, taking its parts as constructor arguments.
- `real_inputs.py`, `latents.py`, `batches.py`: the parts (real-input transforms, latent
  transforms, batch compositions); penalties live in `tfgan_fast.penalties`, loss compositions
  in `tfgan_fast.losses`, their pure cores in `attacks.py`, `latent.py`, `penalties.py`.
- `presets.py`: `StandardGAN`, `FastGAN`, `RobGAN`, `FARGAN`, `LOGAN`, `R3GAN`.

Trainers are registered with `gin.external_configurable` (a `@gin.configurable` decorator on a
Keras Model subclass breaks Keras 3 model creation).
"""

from tfgan_fast.algorithms.base import GANTrainer
from tfgan_fast.algorithms.batches import FakeAsReal, select_fake_as_real
from tfgan_fast.algorithms.latents import LatentOptimization
from tfgan_fast.algorithms.presets import FARGAN, LOGAN, R3GAN, FastGAN, RobGAN, StandardGAN
from tfgan_fast.algorithms.real_inputs import FreeAdversarial, PGDAttack

__all__ = ["GANTrainer", "FastGAN", "StandardGAN", "RobGAN", "FARGAN", "LOGAN", "R3GAN",
           "FreeAdversarial", "PGDAttack", "LatentOptimization", "FakeAsReal",
           "select_fake_as_real"]
