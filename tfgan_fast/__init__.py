"""tfgan_fast: fast, stable class-conditional GAN training in TensorFlow 2 / Keras 3."""

__version__ = "0.1.0"
