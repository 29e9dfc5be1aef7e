r"""Micro-benchmark of the ResNet G and D: forward + backward time per batch (tf.function).

  python scripts/benchmark_nets.py                       # batch 64, width 128, float32
  python scripts/benchmark_nets.py --mixed_precision     # mixed_bfloat16 policy
  python scripts/benchmark_nets.py --width=256 --head=projection --spectral_norm

Prints the median and the fastest of --steps timed steps after two warm-up steps. The numbers
are wall-clock on a shared machine: compare runs made back to back, not across days.
"""

import os
import time

from absl import flags

from tfgan_fast.run import cli
from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_integer("batch_size", 64, "Images per step.")
flags.DEFINE_integer("width", 128, "Feature maps of G and D.")
flags.DEFINE_integer("resolution", 32, "Image size.")
flags.DEFINE_integer("num_classes", 10, "Classes (0: unconditional G, D head 'none').")
flags.DEFINE_enum("head", "ac", ["ac", "projection", "none"], "Discriminator head.")
flags.DEFINE_bool("spectral_norm", False, "Spectral norm in D.")
flags.DEFINE_bool("mixed_precision", False, "Use the mixed_bfloat16 Keras policy.")
flags.DEFINE_integer("steps", 10, "Timed steps per network.")


def _time(fn, steps):
    fn()
    fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        grads = fn()
        grads[0].numpy()  # wait for the step to finish
        times.append(time.perf_counter() - start)
    times.sort()
    return 1000 * times[len(times) // 2], 1000 * times[0]


def main(argv):
    quiet.quiet_tensorflow()
    del argv
    import keras  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    if FLAGS.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    from tfgan_fast import nets  # pylint: disable=import-outside-toplevel

    batch, num_classes = FLAGS.batch_size, FLAGS.num_classes
    head = FLAGS.head if num_classes else "none"
    g = nets.ResNetGenerator(resolution=FLAGS.resolution, width=FLAGS.width,
                             num_classes=num_classes)
    d = nets.ResNetDiscriminator(resolution=FLAGS.resolution, width=FLAGS.width,
                                 num_classes=num_classes, head=head,
                                 spectral_norm=FLAGS.spectral_norm)
    rng = tf.random.Generator.from_seed(0)
    z = rng.normal([batch, g.z_dim])
    labels = rng.uniform([batch], 0, max(num_classes, 1), tf.int32) if num_classes else None
    images = rng.uniform([batch, FLAGS.resolution, FLAGS.resolution, 3], -1.0, 1.0)
    g(z, labels)
    d(images, labels)

    @tf.function
    def g_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(g(z, labels, training=True)))
        return tape.gradient(loss, g.trainable_variables)

    @tf.function
    def d_step():
        with tf.GradientTape() as tape:
            out = d(images, labels, training=True)
            loss = tf.add_n([tf.reduce_mean(v) for v in out.values()])
        return tape.gradient(loss, d.trainable_variables)

    policy = keras.mixed_precision.global_policy().name
    print(f"batch {batch}, width {FLAGS.width}, {FLAGS.resolution} px, head {head}, "
          f"spectral_norm {FLAGS.spectral_norm}, policy {policy}, "
          f"{os.cpu_count()} CPUs, TF {tf.__version__}")
    for name, step in (("G", g_step), ("D", d_step)):
        median, best = _time(step, FLAGS.steps)
        print(f"{name} forward+backward: median {median:.1f} ms, best {best:.1f} ms")


if __name__ == "__main__":
    cli.run(main)
