"""Training algorithms: `GANTrainer` subclasses that override only their D / G steps.

Registered with `gin.external_configurable` (a `@gin.configurable` decorator on a Keras Model
subclass breaks Keras 3 model creation).
"""

import gin

from tfgan_fast.algorithms.base import GANTrainer, make_optimizer, normal_latents, uniform_latents
from tfgan_fast.algorithms.fargan import FARGAN
from tfgan_fast.algorithms.fastgan import FastGAN
from tfgan_fast.algorithms.logan import LOGAN
from tfgan_fast.algorithms.robgan import RobGAN
from tfgan_fast.algorithms.standard import StandardGAN

gin.external_configurable(FastGAN, module="tfgan_fast")
gin.external_configurable(StandardGAN, module="tfgan_fast")
gin.external_configurable(RobGAN, module="tfgan_fast")
gin.external_configurable(FARGAN, module="tfgan_fast")
gin.external_configurable(LOGAN, module="tfgan_fast")

__all__ = ["GANTrainer", "FastGAN", "StandardGAN", "RobGAN", "FARGAN", "LOGAN",
           "make_optimizer",
           "normal_latents", "uniform_latents"]
