"""A small CNN classifier for our own data sets, its training and its SavedModel export.

Inception features of 32x32 grey-scale garments are a poor yardstick and unavailable offline; a
small CNN trained on the data set itself gives a classifier for IS / FID / KID that runs on a CPU
in minutes. Results under it are *not* Inception FID: its metadata names it (e.g. "fashion-mnist
classifier") and `SavedModelClassifier.qualify` puts that name next to every number.

The export is a SavedModel with signature `serving_default(images float32 [None, R, R, C] in
[-1, 1]) -> {"logits": [None, K], "features": [None, F]}` (features: the penultimate layer), plus
`tfgan_fast_classifier.json` (identity, display name, data set, resolution, test accuracy, ...).
"""

import datetime
import json
import os

import keras
import tensorflow as tf

from tfgan_fast.runtime import fileio
from tfgan_fast.eval import classifiers


def build_small_cnn(resolution=32, channels=1, num_classes=10, width=16, feature_dim=128,
                    name="small_cnn"):
    """Three conv stages (width, 2 width, 4 width) with BN, then a dense feature layer.

    About 0.2 M parameters at width 16; ~7 M multiply-adds per 32x32 image, so one Fashion-MNIST
    epoch takes well under a minute on two CPU cores.

    Returns:
        A Keras model `images [N, R, R, C] -> [logits [N, K], features [N, feature_dim]]`.
    """
    inputs = keras.Input((resolution, resolution, channels), name="images")
    x = inputs
    for stage, filters in enumerate((width, 2 * width, 4 * width)):
        convs = 1 if stage == 0 else 2  # full resolution is the costly stage: one conv there
        for i in range(convs):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                    name=f"conv{stage}_{i}")(x)
            x = keras.layers.BatchNormalization(name=f"bn{stage}_{i}")(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(feature_dim, activation="relu", name="features")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(
        keras.layers.Dropout(0.3)(features))
    return keras.Model(inputs, [logits, features], name=name)


def _limit(ds, max_examples, batch_size):
    if max_examples is None:
        return ds
    return ds.unbatch().take(max_examples).batch(batch_size)


def train_small_classifier(train_source, test_source, epochs=4, batch_size=128,
                           learning_rate=2e-3, max_examples=None, max_test_examples=None,
                           width=16, seed=0, verbose=2):
    """Trains `build_small_cnn` on a data source and measures its test accuracy.

    Args:
        train_source, test_source: `tfgan_fast.data` sources built with `augment=False`.
        epochs: passes over the training data.
        batch_size: training batch size.
        learning_rate: Adam's initial rate, cosine-decayed to 5% over the run.
        max_examples: use at most this many training examples (tests, quick runs).
        max_test_examples: use at most this many test examples.
        width: base width of the CNN.
        seed: initialisation and data order.
        verbose: Keras' fit verbosity.

    Returns:
        `(model, test_accuracy, num_train, num_test)`; `model` returns `[logits, features]`.
    """
    keras.utils.set_random_seed(seed)
    h, w, c = train_source.image_shape
    if h != w:
        raise ValueError(f"square images expected, got {train_source.image_shape}")
    model = build_small_cnn(h, c, train_source.num_classes, width=width)
    logits_model = keras.Model(model.inputs, model.outputs[0])
    train_ds = _limit(train_source.make(batch_size, seed=seed, repeat=False), max_examples,
                      batch_size)
    # Batches of one, re-batched without drop_remainder: the accuracy covers every test image.
    test_ds = test_source.make(1, seed=seed, repeat=False).unbatch()
    if max_test_examples is not None:
        test_ds = test_ds.take(max_test_examples)
    test_ds = test_ds.batch(batch_size)
    num_train = sum(int(x.shape[0]) for x, _ in train_ds)
    steps = max(1, -(-num_train // batch_size)) * epochs
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)
    logits_model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"])
    logits_model.fit(train_ds, epochs=epochs, verbose=verbose, shuffle=False)  # ds shuffles
    _, accuracy = logits_model.evaluate(test_ds, verbose=0)
    num_test = sum(int(x.shape[0]) for x, _ in test_ds)
    return model, float(accuracy), num_train, num_test


def export_classifier(model, path, metadata):
    """Writes `model` as a classifier SavedModel plus its metadata JSON, atomically.

    Args:
        model: Keras model `images -> [logits, features]` with a static input shape.
        path: output directory (replaced if it exists).
        metadata: dict merged into the JSON; `identity` defaults to
            "<model name>:<weights digest>".

    Returns:
        `(path, metadata)` as written.
    """
    path = os.path.expanduser(path)
    spec = tf.TensorSpec([None] + list(model.inputs[0].shape[1:]), tf.float32, name="images")

    def serve(images):
        logits, features = model(images, training=False)
        return {"logits": tf.cast(logits, tf.float32), "features": tf.cast(features, tf.float32)}

    meta = {
        "identity": f"{model.name}:{classifiers.weights_digest(model)}",
        "resolution": int(spec.shape[1]),
        "channels": int(spec.shape[3]),
        "num_classes": int(model.outputs[0].shape[-1]),
        "feature_dim": int(model.outputs[1].shape[-1]),
        "logits_key": "logits",
        "features_key": "features",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    meta.update(metadata)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serving_default", fn=serve, input_signature=[spec])

    def write(tmp):
        archive.write_out(tmp, verbose=False)
        with open(os.path.join(tmp, classifiers.METADATA_FILENAME), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, sort_keys=True)
            f.write("\n")

    path = fileio.replace_dir_atomically(path, write)
    return path, meta
