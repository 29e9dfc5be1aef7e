"""Classification accuracy score (CAS; Ravuri & Vinyals, "Classification Accuracy Score for
Conditional Generative Models", NeurIPS 2019).

Train a classifier on generated, labelled images only; test it on the real test images. A
generator whose samples are faithful to their labels AND cover each class's variety gives a
classifier close to one trained on real data; one that drops modes or mixes classes does not.
Here the classifier is the small CNN of `small_classifier` (the recipe is gin-configurable), so
CAS runs offline on a CPU; compare it with the same recipe trained on the real training images
(92.2% on Fashion-MNIST for the packaged classifier's recipe).
"""

import gin
import numpy as np
import tensorflow as tf

from tfgan_fast.algorithms.latents import normal_latents
from tfgan_fast.data import stream
from tfgan_fast.eval import small_classifier


class GeneratedImages:
    """Generated images and their labels held in memory, with the data-source interface."""

    exact_resume = True

    def __init__(self, images, labels, num_classes):
        self.images = np.asarray(images, np.float32)
        self.labels = np.asarray(labels, np.int32)
        self._num_classes = int(num_classes)

    @property
    def num_classes(self):
        return self._num_classes

    @property
    def image_shape(self):
        return tuple(self.images.shape[1:])

    @property
    def name(self):
        return "generated"

    def make(self, batch_size, seed=0, input_context=None, repeat=True, start_step=0):
        return stream.build_indexed_pipeline(
            self.images, self.labels, num_classes=self.num_classes, source_name=self.name,
            preprocess=None, example_shape=self.image_shape, batch_size=batch_size, seed=seed,
            input_context=input_context, repeat=repeat, shuffle=True, start_step=start_step)


def generate_labelled(sample_fn, z_dim, num_classes, per_class, seed=0, batch_size=100,
                      latent_sampler=normal_latents, truncation=1.0):
    """`per_class` images of every class: `(images float32 [C * per_class, H, W, C'],
    labels int32)`, labels in blocks of `batch_size` cycling over the classes."""
    total = per_class * num_classes
    labels = np.arange(total, dtype=np.int32) % num_classes
    images = []
    for start in range(0, total, batch_size):
        y = tf.constant(labels[start:start + batch_size])
        z = latent_sampler([len(y), z_dim], tf.constant([seed, start], tf.int64)) * truncation
        out = sample_fn(z, y)
        images.append(np.asarray(out["images"] if isinstance(out, dict) else out, np.float32))
    return np.concatenate(images), labels


@gin.configurable(denylist=["sample_fn", "z_dim", "num_classes", "test_source"])
def classification_accuracy_score(sample_fn, z_dim, num_classes, test_source, per_class=1000,
                                  epochs=4, batch_size=128, learning_rate=2e-3, width=16,
                                  seed=0, latent_sampler=normal_latents, truncation=1.0,
                                  verbose=0):
    """CAS of a class-conditional generator.

    Args:
        sample_fn: `fn(z, labels) -> images` in [-1, 1] (or a dict with "images").
        z_dim, num_classes: the generator's.
        test_source: the real test images, a data source with `augment=False`.
        per_class: generated training images per class.
        epochs, batch_size, learning_rate, width: the classifier's recipe
            (`small_classifier.train_small_classifier`).
        seed: latents, labels and the classifier's initialisation.
        latent_sampler, truncation: how latents are drawn.
        verbose: Keras' fit verbosity.

    Returns:
        `{"cas": accuracy on the real test images, "cas_train_images", "cas_test_images"}`.
    """
    if not num_classes:
        raise ValueError("CAS needs a class-conditional generator (num_classes > 0)")
    if test_source.num_classes != num_classes:
        raise ValueError(f"the test data has {test_source.num_classes} classes, the generator "
                         f"{num_classes}")
    images, labels = generate_labelled(sample_fn, z_dim, num_classes, per_class, seed=seed,
                                       latent_sampler=latent_sampler, truncation=truncation)
    train = GeneratedImages(images, labels, num_classes)
    _, accuracy, num_train, num_test = small_classifier.train_small_classifier(
        train, test_source, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        width=width, seed=seed, verbose=verbose)
    return {"cas": accuracy, "cas_train_images": num_train, "cas_test_images": num_test}
