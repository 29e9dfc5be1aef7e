"""Tiny G and D with the library's network interface, for fast algorithm tests."""

import keras
import tensorflow as tf


class TinyGenerator(keras.Model):
    """`G(z, labels)`: dense -> tanh image `[B, size, size, channels]`, label embedding added."""

    def __init__(self, z_dim=4, num_classes=3, size=4, channels=1, **kwargs):
        super().__init__(**kwargs)
        self.size, self.channels, self.num_classes = size, channels, num_classes
        self.embed = keras.layers.Embedding(num_classes, z_dim) if num_classes else None
        self.dense = keras.layers.Dense(size * size * channels)

    def call(self, z, labels=None, training=None):
        if self.num_classes and labels is not None:
            z = z + self.embed(labels)
        x = self.dense(z)
        return tf.tanh(tf.reshape(x, [-1, self.size, self.size, self.channels]))


class TinyDiscriminator(keras.Model):
    """`D(x)` -> {"logits": [B], "class_logits": [B, C]} from one hidden dense layer."""

    def __init__(self, num_classes=3, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.flatten = keras.layers.Flatten()
        self.hidden = keras.layers.Dense(hidden, activation="relu")
        self.adv = keras.layers.Dense(1)
        # No unused class head without classes: Keras' fit builds unbuilt layers from data.
        self.cls = keras.layers.Dense(num_classes) if num_classes else None

    def call(self, images, labels=None, training=None):
        h = self.hidden(self.flatten(images))
        out = {"logits": tf.squeeze(self.adv(h), -1)}
        if self.num_classes:
            out["class_logits"] = self.cls(h)
        return out
