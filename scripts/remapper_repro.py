r"""TensorFlow's oneDNN remapper error on residual networks: the smallest graph, our networks, and
what it costs.

  python scripts/remapper_repro.py              # the smallest graph that triggers it
  python scripts/remapper_repro.py --nets=all   # one D update of each of our discriminators
  python scripts/remapper_repro.py --nets=all --relu   # the same with plain ReLU: the bug
  python scripts/remapper_repro.py --measure    # one CIFAR D update: does the failure cost time?

The bugs (TF 2.21, CPU with oneDNN, the default): Grappler's remapper fuses
`Conv2D -> BiasAdd [-> Add] -> Relu/LeakyRelu` into one `_FusedConv2D` without checking that the
tensors it removes have no other consumer. Two such consumers occur in GAN discriminators:
- the residual sum `conv + bias + shortcut` feeds the next block's activation AND its shortcut;
- in a training step, leaky ReLU's gradient (LeakyReluGrad) reads the BiasAdd's output.
The remapper then deletes the node and fails to apply its changes:

  E ... meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: Mutation::Apply error:
  fanout 'mul' exist for missing node 'add'.

Grappler keeps the graph as it was before the remapper, so the results are right, but none of
the remapper's fusions is applied to that graph. With `TF_ENABLE_ONEDNN_OPTS=0` the pattern is
not tried and nothing is logged.

Our networks avoid both: ReLU at a residual block's input and every leaky ReLU are
`nets.layers.masked_activation`, the same values and gradient written as `x * mask`, which the
remapper does not fuse. Each case runs in a fresh process with `TF_CPP_MIN_LOG_LEVEL=0`, so the
message is seen. `--nets` exits with status 1 if any of our discriminators still triggers it.
"""

import os
import subprocess
import sys
import time

from absl import app
from absl import flags

from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_list("nets", [], "Check one D update of these discriminators (all: every one); "
                  "exit status 1 if any logs the remapper error.")
flags.DEFINE_bool("relu", False, "With --nets: block inputs through tf.nn.relu (the form that "
                  "triggers the error), to see the bug in our networks.")
flags.DEFINE_bool("measure", False, "Time one CIFAR-10 FastGAN D update (forward, backward to "
                  "weights and inputs, Adam) with the remapper failing, succeeding and off.")
flags.DEFINE_list("mixed_precision", ["mixed_bfloat16", "float32"],
                  "Keras policies for --measure.")
flags.DEFINE_integer("rounds", 3, "--measure: interleaved rounds.")
flags.DEFINE_integer("iterations", 8, "--measure: timed updates per variant and round.")
flags.DEFINE_string("child", None, "Internal: run one case in this process.")

MESSAGE = "remapper failed"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _minimal(activation):
    """`a = conv(x) + b + x`, then `act(a)` and `a` both used: the Add has two consumers."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_fast.nets import layers  # pylint: disable=import-outside-toplevel

    act = tf.nn.relu if activation == "relu" else layers.masked_activation
    kernel = tf.random.stateless_normal([1, 1, 4, 4], seed=[1, 2])
    bias = tf.random.stateless_normal([4], seed=[3, 4])
    x = tf.random.stateless_normal([1, 2, 2, 4], seed=[5, 6])

    def f(x):
        a = tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "SAME"), bias) + x
        return act(a) * a

    graph, eager = tf.function(f)(x), f(x)
    print(f"result equals eager: {bool(tf.reduce_all(graph == eager))}")


def _discriminators():
    """`name -> fn() -> (D, images, labels)`: each discriminator family, small."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_fast.nets import biggan  # pylint: disable=import-outside-toplevel
    from tfgan_fast.nets import conventional  # pylint: disable=import-outside-toplevel
    from tfgan_fast.nets import dcgan  # pylint: disable=import-outside-toplevel
    from tfgan_fast.nets import fargan_resnet  # pylint: disable=import-outside-toplevel
    from tfgan_fast.nets import resnet  # pylint: disable=import-outside-toplevel
    from tfgan_fast.nets import sngan_cnn  # pylint: disable=import-outside-toplevel

    x32 = tf.random.stateless_uniform([4, 32, 32, 3], [1, 2], -1.0, 1.0)
    y = tf.zeros([4], tf.int32)
    return {  # built on demand: one per process
        "resnet_ac": lambda: (resnet.ResNetDiscriminator(
            resolution=32, width=16, num_classes=10, head="ac"), x32, y),
        "resnet_projection_sn": lambda: (
            resnet.ResNetDiscriminator(resolution=32, width=16, num_classes=10,
                                       head="projection", spectral_norm=True,
                                       learnable_shortcut="auto"), x32, y),
        "resnet_attention": lambda: (resnet.ResNetDiscriminator(
            resolution=32, width=16, num_classes=10, head="projection", spectral_norm=True,
            attention_resolution=16), x32, y),
        "biggan_deep": lambda: (biggan.BigGANDeepDiscriminator(
            resolution=32, width=16, num_classes=10, attention_resolution=16), x32, y),
        "sngan_cnn": lambda: (sngan_cnn.SNGANCNNDiscriminator(
            resolution=32, width=16), x32, None),
        "dcgan": lambda: (dcgan.DCGANDiscriminator(resolution=32, width=16),
                                       x32, None),
        "conventional": lambda: (conventional.ConventionalDiscriminator(
            resolution=32, width=16), x32, None),
        "fargan_resnet": lambda: (fargan_resnet.FARGANResNetDiscriminator(
            resolution=32, width=16), x32, None),
    }


def _d_update(d_net, images, labels):
    """`fn()`: one D update in a tf.function, gradient to the weights and the inputs (FastGAN's
    free adversarial step); returns the input gradient."""
    import keras  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    d_net(images, labels)
    opt = keras.optimizers.Adam(1e-4)
    opt.build(d_net.trainable_variables)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = tf.cast(d_net(x, labels, training=True)["logits"], tf.float32)
            loss = tf.reduce_mean(tf.nn.relu(1.0 - logits))
        grads = tape.gradient(loss, d_net.trainable_variables + [x])
        opt.apply_gradients(zip(grads[:-1], d_net.trainable_variables))
        return grads[-1]

    return lambda: step(images).numpy()


def _plain_activation(x, leaky_slope=0.0):
    """The activation ops themselves, which the remapper fuses into the residual sum."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    return tf.nn.leaky_relu(x, leaky_slope) if leaky_slope else tf.nn.relu(x)


def _child(spec):
    """Runs one case (`kind:arg[:arg]`) in this process; prints its result."""
    kind, *args = spec.split(":")
    if kind == "measure":
        policy, variant = args
        if variant == "remapper_off":
            import tensorflow as tf  # pylint: disable=import-outside-toplevel
            tf.config.optimizer.set_experimental_options({"remapping": False})
    import keras  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_fast.nets import layers  # pylint: disable=import-outside-toplevel
    if kind == "minimal":
        _minimal(args[0])
    elif kind == "net":  # net:NAME[+NAME...], one D update each
        if FLAGS.relu:
            layers.masked_activation = _plain_activation
        for name in args[0].split("+"):
            d_net, images, labels = _discriminators()[name]()
            _d_update(d_net, images, labels)()
    elif kind == "measure":
        keras.mixed_precision.set_global_policy(policy)
        if variant == "relu":  # the plain op: the remapper fails on every residual sum
            layers.masked_activation = _plain_activation
        from tfgan_fast.nets import resnet  # pylint: disable=import-outside-toplevel
        d_net = resnet.ResNetDiscriminator(resolution=32, width=128, num_classes=10, head="ac")
        images = tf.random.stateless_uniform([128, 32, 32, 3], [1, 2], -1.0, 1.0)
        fn = _d_update(d_net, images, tf.zeros([128], tf.int32))
        for _ in range(3):
            fn()
        times = []
        for _ in range(FLAGS.iterations):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        print(f"seconds {np.median(times):.6f}")


def _run(spec, env=None):
    """`(stdout, number of remapper messages)` of one case in a fresh process."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), f"--child={spec}",
                           f"--iterations={FLAGS.iterations}", f"--relu={FLAGS.relu}"],
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise RuntimeError(f"{spec} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout, proc.stderr.count(MESSAGE)


def main(argv):
    del argv
    if FLAGS.child:
        _child(FLAGS.child)
        return
    if FLAGS.measure:
        _measure()
        return
    if FLAGS.nets:
        quiet.quiet_tensorflow()
        sys.exit(_check_nets())
    print("a = conv2d(x) + bias + x; f = relu(a) * a  (the Add has two consumers)")
    quiet.quiet_tensorflow()
    for name, spec, env in (
            ("relu, oneDNN on (TF's default)", "minimal:relu", None),
            ("relu, TF_ENABLE_ONEDNN_OPTS=0", "minimal:relu", {"TF_ENABLE_ONEDNN_OPTS": "0"}),
            ("masked_activation, oneDNN on", "minimal:masked", None)):
        out, count = _run(spec, env)
        print(f"  {name:<40} remapper messages: {count}; {out.strip()}")


def _check_nets():
    """Prints each discriminator's message count; 1 if any has one."""
    known = list(_discriminators())
    names = known if FLAGS.nets == ["all"] else FLAGS.nets
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise app.UsageError(f"--nets: unknown {unknown}; choose from {known} or all")
    form = "tf.nn.relu / tf.nn.leaky_relu" if FLAGS.relu else "masked_activation"
    print(f"one D update (gradient to weights and inputs) per discriminator; activations "
          f"through {form}")
    bad = 0
    for name in names:
        _, count = _run(f"net:{name}")
        bad += count > 0
        print(f"  {name:<22} remapper messages: {count}")
    return 1 if bad else 0


def _measure():
    """Median seconds per D update, interleaved rounds; prints a table."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    variants = ("shipped", "relu", "remapper_off")
    labels = {"shipped": "masked_activation (remapper runs)",
              "relu": "tf.nn.relu (remapper fails)",
              "remapper_off": "masked_activation, remapper off"}
    results = {}
    for r in range(FLAGS.rounds):
        for policy in FLAGS.mixed_precision:
            for variant in variants:
                out, count = _run(f"measure:{policy}:{variant}")
                seconds = float(out.split("seconds ")[1])
                results.setdefault((policy, variant), []).append(seconds)
                print(f"round {r + 1}: {policy:<15} {labels[variant]:<40} {seconds:.3f} s "
                      f"({count} remapper messages)", flush=True)
    print("\nCIFAR-10 FastGAN D (width 128, batch 128, AC head), one update: median s over "
          f"{FLAGS.iterations} updates, mean ± std over {FLAGS.rounds} interleaved rounds")
    for policy in FLAGS.mixed_precision:
        base = np.mean(results[policy, "shipped"])
        for variant in variants:
            times = np.array(results[policy, variant])
            print(f"  {policy:<15} {labels[variant]:<40} {times.mean():.3f} ± {times.std():.3f}"
                  f"  ({100 * (times.mean() / base - 1):+.1f}%)")


if __name__ == "__main__":
    app.run(main)
