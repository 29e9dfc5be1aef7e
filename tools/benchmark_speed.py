r"""Seconds per 1k training iterations of a configured model, warm-up excluded.

  python tools/benchmark_speed.py --gin_file=gin/fastgan_cifar.gin
  python tools/benchmark_speed.py --gin_file=gin/fastgan_cifar.gin \
      --mixed_precision=none,mixed_bfloat16 --jit_compile=false,true --breakdown
  python tools/benchmark_speed.py --gin_file=gin/quickstart.gin --image_shape=32,32,1
  python tools/benchmark_speed.py --methods=fastgan,sngan,robgan
  python tools/benchmark_speed.py --gin_file=gin/synthetic/fargan_8gaussians.gin \
      --iterations=20000 --warmup=2000 --steps_per_execution=1,1000
  python tools/benchmark_speed.py --flops --mixed_precision=none,mixed_bfloat16
  python tools/benchmark_speed.py --gin_file=gin/fastgan_cifar.gin --graph_diff \
      --mixed_precision=none,mixed_bfloat16

Every table comes with the host's CPU model, cores, clock and vector flags (avx2, fma, avx512f,
avx512_bf16, amx_tile, amx_bf16; `tfgan_fast.runtime.hardware`): figures from different hosts do not
compare.

`--flops` counts the floating-point operations of one training iteration of each CIFAR method
(`--methods`, default all five) with TensorFlow's cost analysis of the traced `train_step`
(`tfgan_fast.perf.flops`), and G's and D's forward pass per example both from TensorFlow and by hand
from the layers; with `--iterations` > 0 it also times each method (as `--methods` does) and
prints the achieved FLOP/s against the CPU's peak (`--fma_units`, `--clock_ghz`) and the time the
same FLOPs take at an A100's and an H100's published bfloat16 peak
(`tfgan_fast.runtime.hardware.GPUS`, which `tools/scaling_estimate.py` uses too).

`--graph_diff` compares the trainer's training function with the minimal hand-written iteration
(`--reference`) op by op, after TensorFlow's graph optimisations (Grappler, the oneDNN
rewrites): each is run once with run metadata on, and the table counts the nodes of each op type
(with a fused kernel's fused ops) and dtype in the executed partition graphs, printing every one
whose count differs; with `--iterations` > 0 it then traces both with TensorFlow's profiler and
prints the kernel time per op type and iteration (the 15 largest differences).

With `--methods`, each method runs its CIFAR-10 gin file (plus any `--gin_file` / `--gin_param`
overrides) with the same synthetic data, network width (`--width`) and global batch
(`--batch_size`), one after the other in this process, and the table shows seconds per 1k
iterations (one iteration = n_disc D steps + one G step), the ratio to FastGAN, the paper's
ratios (Zhong et al. 2020, Table 6, one 1080 Ti) and the authors' PyTorch code on a 2-core CPU.

The training step runs exactly as in `train.py` (same gin config, `fit`, tf.function) on
synthetic images of the data set's shape (`--image_shape`, `--num_classes`; the step's cost does
not depend on pixel values), so no data set is needed. Every variant starts from the same
initial weights, and the table shows how far its losses differ from the first variant's at
iteration 1, where the weights are still identical (mixed precision must change the losses
by rounding only).

On the 2-D synthetic sets (vector data, `gin/synthetic/fargan_*.gin`) a step takes about a
millisecond, so the table shows the wall time of whole `fit` calls divided by the iterations, for
each `--steps_per_execution`, against two hand-written FARGAN iterations on the same MLPs, batch
and point cloud (Tao & Wang 2020, Alg. 1): the yardstick, a `tf.function` called once per
iteration from a Python loop, and the same iteration run 100 times per call in a `tf.range` loop.
"""

import os
import tempfile
import time

from absl import app
from absl import flags

from tfgan_fast.run import cli
from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin config file(s) of the model to benchmark; with "
                          "--methods, overrides applied after each method's own file.")
flags.DEFINE_list("methods", [], "Compare training methods on the same data, width and batch: "
                  "any of fastgan, sngan, sngan_ac, robgan, logan (its SN-GAN CNNs keep their "
                  "own widths).")
flags.DEFINE_integer("width", 128, "With --methods: feature maps of G and D for every method.")
flags.DEFINE_integer("batch_size", 64, "With --methods: global batch for every method.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings.")
flags.DEFINE_integer("iterations", 10, "Timed iterations per variant.")
flags.DEFINE_integer("warmup", 3, "Untimed iterations first (tracing, allocation).")
flags.DEFINE_list("mixed_precision", ["auto"], "Numeric policies to compare: auto (the "
                  "trainer's default), none (float32) or Keras policy names, e.g. "
                  "none,mixed_bfloat16.")
flags.DEFINE_list("jit_compile", ["false"], "XLA variants to compare: false,true.")
flags.DEFINE_list("steps_per_execution", ["config"], "run.steps_per_execution variants to "
                  "compare, e.g. 1,1000 (config: the gin file's value).")
flags.DEFINE_list("image_shape", ["32", "32", "3"], "H,W,C of the synthetic images.")
flags.DEFINE_integer("num_classes", 10, "Classes of the synthetic data.")
flags.DEFINE_bool("breakdown", False, "Also time the parts of one iteration.")
flags.DEFINE_bool("reference", True, "Also time a minimal hand-written iteration of the method on "
                  "the same nets (the trainer's overhead is the difference).")
flags.DEFINE_integer("eval_cost", 0, "Instead of training, time an evaluation's two costs for "
                     "this many images: sampling the configured G (its numeric policy), and the "
                     "forward pass of Keras' InceptionV3 architecture at 299x299 with random "
                     "weights (TF-GAN's Inception costs the same and needs a download), measured "
                     "on --eval_cost_measured images and scaled.")
flags.DEFINE_integer("eval_cost_measured", 1000, "Images actually classified by --eval_cost.")
flags.DEFINE_bool("flops", False, "Count the FLOPs of one iteration of each --methods (default: "
                  "all; each its own CIFAR config unless --width / --batch_size are given); with "
                  "--iterations > 0 also time them against the CPU's and GPUs' peaks.")
flags.DEFINE_integer("fma_units", 2, "512-bit FMA units per core for the CPU's peak (2: Intel "
                     "Xeon Gold/Platinum, AMD Zen 5; 1: Zen 4).")
flags.DEFINE_float("clock_ghz", None, "Clock for the CPU's peak (default: /proc/cpuinfo's cpu "
                   "MHz).")
flags.DEFINE_bool("graph_diff", False, "Compare the trainer's optimized graph with the minimal "
                  "iteration's, op type by op type, for each --mixed_precision.")
flags.DEFINE_bool("real_data", False, "Use the configured data set instead of synthetic "
                  "images (it must be available).")


class _Timer:
    """Wall-clock time of each `fit` batch."""

    def __init__(self):
        import keras  # pylint: disable=import-outside-toplevel

        timer = self

        class Callback(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                timer.t0 = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                timer.times.append(time.perf_counter() - timer.t0)
                timer.logs.append({k: float(v) for k, v in (logs or {}).items()})

        self.times, self.logs, self.t0 = [], [], 0.0
        self.callback = Callback()


def _time_fn(fn, n, warmup=2):
    """Mean seconds per call of `fn` over `n` calls after `warmup`; a tensor that the last call
    returns is fetched inside the timing (pending work counts)."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    out = None
    for _ in range(n):
        out = fn()
    if hasattr(out, "numpy"):
        out.numpy()
    return (time.perf_counter() - t0) / n


def _reference_iteration(trainer, batches, xla):
    """`fn()` running a minimal hand-written iteration of the trainer's method on the same nets:
    no Keras `fit`, no callbacks, no logged metrics, no seeded random streams (None for other
    compositions). The trainer's overhead is its time minus this one's.

    It covers the presets `benchmark_speed` compares: SNGAN / SNGAN(AC) (`StandardGAN`,
    `n_disc` D steps on fresh fakes), FastGAN (`free_steps` replays of one fake batch with the
    persistent perturbation), RobGAN (`pgd_steps` PGD steps on the reals per D step) and LOGAN
    (one latent step in the D and the G step, D's and G's gradients through it). The loss is
    written out from the configured family (hinge or non-saturating) and class weights.

    It takes its batches from the same data iterator as the trainer, as arguments: a batch
    captured as a graph constant runs markedly faster on CPU (measured 2.6 s vs 3.4 s per
    iteration at CIFAR size) and would flatter the reference."""
    import keras  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_fast.algorithms import losses  # pylint: disable=import-outside-toplevel
    # pylint: disable-next=import-outside-toplevel
    from tfgan_fast.algorithms import batches as batches_lib
    from tfgan_fast.algorithms import real_inputs  # pylint: disable=import-outside-toplevel

    if (trainer.penalty is not None or trainer.augment is not None or trainer.pairwise
            or not isinstance(trainer.batch, batches_lib.StandardBatch)
            or trainer.update_order != "alternating" or trainer.replay_update != "joint"
            or (trainer.latent_transform is not None
                and (trainer.latent_transform.latent_steps != 1
                     or not trainer.latent_transform.d_gradient_through
                     or trainer.latent_transform.stop_gradient_g))):
        return None  # not one of the four methods' default compositions
    g_net, d_net = trainer.generator, trainer.discriminator
    first_images, _ = next(batches)
    n_disc = trainer.n_disc
    batch = first_images.shape[0] // n_disc
    num_classes, z_dim = trainer.num_classes, trainer.z_dim
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9)
    g_opt.build(g_net.trainable_variables)
    d_opt.build(d_net.trainable_variables)
    transform = trainer.real_transform
    free = isinstance(transform, real_inputs.FreeAdversarial)
    pgd = transform if isinstance(transform, real_inputs.PGDAttack) else None
    delta = tf.Variable(tf.zeros_like(first_images[:batch])) if free else None
    latent = trainer.latent_transform
    loss = trainer.loss
    family = getattr(loss.d_real_fn, "__name__", "")
    hinge = family == losses.hinge_d_real.__name__
    if (not hinge and family != losses.nonsaturating_d_real.__name__) or loss.fake_class_weight:
        raise app.UsageError(f"--reference: no minimal iteration for the loss {loss!r}")

    def ce(y, logits):
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))

    def d_real(out, y):
        b = tf.cast(out["logits"], tf.float32)
        value = tf.reduce_mean(tf.nn.relu(1.0 - b) if hinge else tf.nn.softplus(-b))
        if loss.real_class_weight:
            value += loss.real_class_weight * ce(y, tf.cast(out["class_logits"], tf.float32))
        return value

    def d_fake(out):
        b = tf.cast(out["logits"], tf.float32)
        value = tf.reduce_mean(tf.nn.relu(1.0 + b) if hinge else tf.nn.softplus(b))
        if loss.fake_kl_weight:  # KL(U || softmax) up to its constant
            log_p = tf.nn.log_softmax(tf.cast(out["class_logits"], tf.float32))
            value -= loss.fake_kl_weight * tf.reduce_mean(log_p)
        return value

    def g_loss_fn(out, y):
        b = tf.cast(out["logits"], tf.float32)
        value = -tf.reduce_mean(b) if hinge else tf.reduce_mean(tf.nn.softplus(-b))
        if loss.g_class_weight:
            value += loss.g_class_weight * ce(y, tf.cast(out["class_logits"], tf.float32))
        return value

    def sample():
        z = (tf.random.uniform([batch, z_dim], -1.0, 1.0) if latent is not None
             else tf.random.normal([batch, z_dim]))
        y = tf.random.uniform([batch], 0, num_classes, tf.int32) if num_classes else None
        return z, y

    def fakes_of(z, y):
        """G(z'), and `w_r ||dz||^2` (LOGAN's NGD step, Wu et al. 2019, eq. 16-17)."""
        if latent is None:
            return g_net(z, y, training=True), 0.0
        with tf.GradientTape() as tape:
            tape.watch(z)
            score = tf.reduce_sum(tf.cast(d_net(g_net(z, y, training=True), y,
                                                training=True)["logits"], tf.float32))
        mask = tf.cast(tf.random.uniform(z.shape) < latent.optimized_fraction, tf.float32)
        g = tape.gradient(score, z) * mask
        dz = latent.latent_step(g) * mask
        z = tf.clip_by_value(z + dz, -1.0, 1.0)
        penalty = latent.latent_weight * tf.reduce_mean(tf.reduce_sum(tf.square(dz), -1))
        return g_net(z, y, training=True), penalty

    def attack(images, labels):
        """RobGAN's PGD: `pgd.steps` sign steps on D's real loss from a uniform start."""
        sigma = tf.random.uniform(images.shape, -pgd.radius, pgd.radius)
        for _ in range(pgd.steps):
            x = tf.clip_by_value(images + sigma, -1.0, 1.0)
            with tf.GradientTape() as tape:
                tape.watch(x)
                value = d_real(d_net(x, labels, training=True), labels)
            sigma = tf.clip_by_value(sigma + pgd.tau * tf.sign(tape.gradient(value, x)),
                                     -pgd.radius, pgd.radius)
        return tf.clip_by_value(images + sigma, -1.0, 1.0)

    def d_update(reals, labels, fakes, y_f, penalty=0.0, tape=None):
        tape = tape or tf.GradientTape()
        with tape:
            if free:
                tape.watch(reals)
            both = None if labels is None else tf.concat([labels, y_f], 0)
            out = d_net(tf.concat([reals, fakes], 0), both, training=True)
            value = (d_real({k: v[:batch] for k, v in out.items()}, labels)
                     + d_fake({k: v[batch:] for k, v in out.items()}) + penalty)
        variables = d_net.trainable_variables
        grads = tape.gradient(value, variables + ([reals] if free else []))
        d_opt.apply_gradients(zip(grads[:len(variables)], variables))
        return grads[-1] if free else None

    @tf.function(jit_compile=xla)
    def step(images, labels):
        for i in range(n_disc):
            x = images[i * batch:(i + 1) * batch]
            y = None if labels is None or not num_classes else labels[i * batch:(i + 1) * batch]
            z, y_f = sample()
            if latent is not None:  # D's gradient through the latent step: fakes in its tape
                tape = tf.GradientTape()
                with tape:
                    fakes, penalty = fakes_of(z, y_f)
                d_update(x, y, fakes, y_f, penalty, tape)
                continue
            fakes = tf.stop_gradient(g_net(z, y_f, training=True))
            if pgd is not None:
                x = attack(x, y)
            for _ in range(trainer.d_replays if free else 1):
                if free:
                    adv = tf.clip_by_value(x + delta, -1.0, 1.0)
                    grad = d_update(adv, y, fakes, y_f)
                    delta.assign(tf.clip_by_value(delta + transform.tau * tf.sign(grad),
                                                  -transform.radius, transform.radius))
                else:
                    d_update(x, y, fakes, y_f)
        with tf.GradientTape() as tape:
            z, y_g = sample()
            fakes, penalty = fakes_of(z, y_g)
            g_loss = g_loss_fn(d_net(fakes, y_g, training=True), y_g) + penalty
        grads = tape.gradient(g_loss, g_net.trainable_variables)
        g_opt.apply_gradients(zip(grads, g_net.trainable_variables))
        return g_loss

    return lambda: step(*next(batches)).numpy()


def _reference_fargan(trainer, batches, per_call=1):
    """A minimal hand-written FARGAN iteration (Tao & Wang 2020, Alg. 1, eq. 10-11; NSGAN loss,
    0GP on the reals and the fakes counted as real, plain SGD) on the trainer's nets: no Keras,
    no callbacks, no logs. Returns `fn()` running `per_call` iterations in one `tf.function`
    call, the batches taken from the same point cloud's pipeline (an iterator argument)."""
    import keras  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    g_net, d_net = trainer.generator, trainer.discriminator
    n = next(batches)[0].shape[0]
    n0, f = trainer.num_far, trainer.far_factor
    m = trainer.num_fake or n
    weight = trainer.penalty.weight
    lr_g = float(trainer.g_optimizer.learning_rate.numpy())
    lr_d = float(trainer.d_optimizer.learning_rate.numpy())
    g_opt, d_opt = keras.optimizers.SGD(lr_g), keras.optimizers.SGD(lr_d)
    g_opt.build(g_net.trainable_variables)
    d_opt.build(d_net.trainable_variables)
    z_dim = trainer.z_dim

    def d0(x):
        return d_net(x, None, training=True)["logits"]

    def iteration(reals):
        generated = g_net(tf.random.normal([m + f * n0, z_dim]), None, training=True)
        fakes, candidates = generated[:m], generated[m:]
        _, idx = tf.math.top_k(-d0(candidates), k=n0)
        positives = tf.concat([reals[:n - n0], tf.gather(candidates, idx)], 0)
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                inner.watch(positives)
                pos_logits = d0(positives)
                total = tf.reduce_sum(pos_logits)
            grads = inner.gradient(total, positives)
            loss = (tf.reduce_mean(tf.nn.softplus(-pos_logits))
                    + tf.reduce_mean(tf.nn.softplus(d0(fakes)))
                    + weight * tf.reduce_mean(tf.reduce_sum(tf.square(grads), 1)))
        d_vars = d_net.trainable_variables
        d_opt.apply_gradients(zip(tape.gradient(loss, d_vars), d_vars))
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(tf.nn.softplus(
                -d0(g_net(tf.random.normal([m, z_dim]), None, training=True))))
        g_vars = g_net.trainable_variables
        g_opt.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        return g_loss

    @tf.function
    def step(iterator):
        g_loss = iteration(next(iterator)[0])
        for _ in tf.range(per_call - 1):
            g_loss = iteration(next(iterator)[0])
        return g_loss

    return lambda: step(batches)


# Each method's own CIFAR-10 configuration.
METHOD_GIN = {"fastgan": "gin/fastgan_cifar.gin", "sngan": "gin/cifar10/sngan.gin",
              "sngan_ac": "gin/cifar10/sngan_ac.gin", "robgan": "gin/cifar10/robgan.gin",
              "logan": "gin/cifar10/logan_sngan.gin"}
# Zhong et al. 2020, Table 6, CIFAR-10 on one 1080 Ti: seconds per 1k iterations.
PAPER_S_PER_1K = {"fastgan": 95.5, "sngan": 245.1, "robgan": 385.1}
# The authors' PyTorch code on this 2-core CPU, batch 64, 128-channel CIFAR nets: s / iteration.
AUTHORS_CPU_S = {"fastgan": 4.24, "sngan": 10.14, "robgan": 17.87}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _data_params():
    """Gin bindings for synthetic images of `--image_shape` (none with `--real_data`)."""
    if FLAGS.real_data:
        return []
    return ["run.data = @SyntheticImages()",
            f"SyntheticImages.image_shape = ({', '.join(FLAGS.image_shape)})",
            f"SyntheticImages.num_classes = {FLAGS.num_classes}"]


def _build(policy, xla, gin_files=None, extra_params=()):
    """The configured experiment on synthetic data, built, with its dataset: `(exp, global
    batch, per-replica batch, dataset)`."""
    import gin  # pylint: disable=import-outside-toplevel
    import keras  # pylint: disable=import-outside-toplevel

    from tfgan_fast.run import config  # pylint: disable=import-outside-toplevel
    from tfgan_fast.run import experiment  # pylint: disable=import-outside-toplevel

    gin_files = list(FLAGS.gin_file if gin_files is None else gin_files)
    params = list(extra_params) + list(FLAGS.gin_param)
    params += _data_params()
    params += ["run.evaluator = None",  # the training step only
               f"run.mixed_precision = {None if policy == 'none' else repr(policy)}",
               f"run.jit_compile = {xla}"]
    config.parse(gin_files, params)
    keras.mixed_precision.set_global_policy("float32")
    with tempfile.TemporaryDirectory() as model_dir:
        exp = experiment.build(model_dir)
    trainer = exp.trainer
    batch = gin.query_parameter("run.batch_size")
    per_replica = batch // exp.strategy.num_replicas_in_sync
    local = per_replica * trainer.real_batches_per_iteration
    dataset = exp.strategy.distribute_datasets_from_function(
        lambda ctx: exp.data.make(local, seed=0, input_context=ctx))
    return exp, batch, per_replica, dataset


def _variant(policy, xla, gin_files=None, extra_params=()):
    import numpy as np  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    exp, batch, per_replica, dataset = _build(policy, xla, gin_files, extra_params)
    trainer = exp.trainer
    local = per_replica * trainer.real_batches_per_iteration
    timer = _Timer()
    trainer.fit(dataset, epochs=1, steps_per_epoch=FLAGS.warmup + FLAGS.iterations,
                callbacks=[timer.callback], verbose=0, shuffle=False)
    times = np.array(timer.times[FLAGS.warmup:])
    g_params, d_params = trainer.parameter_counts()
    row = {"policy": policy, "xla": xla, "batch": batch, "mean": times.mean(),
           "std": times.std(), "logs": timer.logs, "g_params": g_params, "d_params": d_params}
    if FLAGS.reference:
        batches = iter(exp.data.make(local, seed=2))
        reference = _reference_iteration(trainer, batches, xla)
        if reference is not None:
            row["reference"] = _time_fn(reference, FLAGS.iterations, warmup=FLAGS.warmup)
    if FLAGS.breakdown:
        images = tf.random.uniform((per_replica,) + tuple(exp.data.image_shape), -1.0, 1.0)
        labels = tf.zeros([per_replica], tf.int32) if trainer.num_classes else None
        z = tf.random.normal([per_replica, trainer.z_dim])
        y = tf.zeros([per_replica], tf.int32) if trainer.num_classes else None
        g_fwd = tf.function(lambda: trainer.generator(z, y, training=True),
                            jit_compile=xla)
        d_step = tf.function(lambda: trainer.discriminator_step(images, labels,
                                                                trainer.step_random(0)),
                             jit_compile=xla)
        g_step = tf.function(lambda: trainer.generator_step(per_replica, trainer.step_random()),
                             jit_compile=xla)
        n = max(3, FLAGS.iterations // 2)
        replays = trainer.d_replays
        d_name = f"D step (G forward + {replays} update(s))"
        row["parts"] = {"G forward (fake batch for D)": _time_fn(g_fwd, n),
                        d_name: _time_fn(d_step, n),
                        "G step (G+D forward, backward)": _time_fn(g_step, n)}
        row["parts"][f"one D update (of {replays})"] = (
            row["parts"][d_name] - row["parts"]["G forward (fake batch for D)"]) / replays
    return row


def _is_vector_config():
    """Whether the configured data set is a 2-D point cloud (data/synthetic2d.py)."""
    import gin  # pylint: disable=import-outside-toplevel

    from tfgan_fast.run import config  # pylint: disable=import-outside-toplevel
    from tfgan_fast.data import synthetic2d  # pylint: disable=import-outside-toplevel

    config.parse(list(FLAGS.gin_file), list(FLAGS.gin_param))
    try:
        ref = gin.query_parameter("run.data")
    except ValueError:
        return False
    wrapped = getattr(getattr(ref, "configurable", None), "wrapped", None)
    return isinstance(wrapped, type) and issubclass(wrapped, synthetic2d.PointCloud)


def _vector_benchmark():
    """Trainer (`fit`, each `--steps_per_execution`) against hand-written FARGAN iterations on a
    2-D config; prints ms per iteration."""
    import gin  # pylint: disable=import-outside-toplevel
    import keras  # pylint: disable=import-outside-toplevel

    from tfgan_fast.run import config  # pylint: disable=import-outside-toplevel
    from tfgan_fast.run import experiment  # pylint: disable=import-outside-toplevel

    rows = []
    exp = first = None
    # Unless --mixed_precision is given, the config's own policy (float32 for the 2-D sets).
    policies = FLAGS.mixed_precision if FLAGS["mixed_precision"].present else ["config"]
    for policy in policies:
        for spe in FLAGS.steps_per_execution:
            params = list(FLAGS.gin_param) + ["run.evaluator = None"]
            if policy != "config":
                params.append(
                    f"run.mixed_precision = {None if policy == 'none' else repr(policy)}")
            config.parse(list(FLAGS.gin_file), params)
            k = (gin.query_parameter("run.steps_per_execution") if spe == "config"
                 else int(spe))
            keras.mixed_precision.set_global_policy("float32")
            with tempfile.TemporaryDirectory() as model_dir:
                exp = experiment.build(model_dir)
            first = first or exp
            trainer = exp.trainer
            trainer.set_steps_per_execution(k)
            per_replica = exp.local_batch
            dataset = exp.strategy.distribute_datasets_from_function(
                lambda ctx, n=per_replica: exp.data.make(n, seed=0, input_context=ctx))
            warm = -(-FLAGS.warmup // k) * k
            timed = -(-FLAGS.iterations // k) * k
            trainer.fit(dataset, epochs=1, steps_per_epoch=warm, verbose=0, shuffle=False)
            t0 = time.perf_counter()
            trainer.fit(dataset, epochs=1, steps_per_epoch=timed, verbose=0, shuffle=False)
            if policy == "config":
                policy = gin.query_parameter("run.mixed_precision") or "float32"
            rows.append((f"trainer fit, {policy}, steps_per_execution {k}",
                         (time.perf_counter() - t0) / timed))
    # The hand-written iterations run on the first variant's nets (its numeric policy).
    exp = first
    trainer = exp.trainer
    if FLAGS.reference and hasattr(trainer, "num_far"):
        batches = iter(exp.data.make(exp.per_replica_batch, seed=2))
        policy = rows[0][0].split(", ")[1]
        for per_call, name in ((1, f"hand-written tf.function, {policy}, 1 iteration per "
                                   "call (yardstick)"),
                               (100, f"hand-written tf.function, {policy}, 100 iterations "
                                     "per call")):
            fn = _reference_fargan(trainer, batches, per_call)
            calls = max(1, FLAGS.iterations // per_call)
            seconds = _time_fn(fn, calls, warmup=max(1, FLAGS.warmup // per_call))
            rows.append((name, seconds / per_call))
    base = next((sec for name, sec in rows if "yardstick" in name), None)
    print()
    print(f"config: {' + '.join(FLAGS.gin_file)} {' '.join(FLAGS.gin_param)}")
    print(f"global batch {exp.global_batch}, "
          f"{FLAGS.iterations} timed iterations after {FLAGS.warmup} warm-up; one iteration = "
          "n_disc D steps + 1 G step")
    print(f"{'variant':<66}{'ms/iter':>9}{'it/s':>8}{'vs yardstick':>14}")
    for name, sec in rows:
        rel = f"{sec / base:.2f}x" if base else "-"
        print(f"{name:<66}{1000 * sec:>9.3f}{1 / sec:>8.0f}{rel:>14}")


def _compare_methods():
    unknown = [m for m in FLAGS.methods if m not in METHOD_GIN]
    if unknown:
        raise app.UsageError(f"--methods: unknown {unknown}; choose from {sorted(METHOD_GIN)}")
    same = [f"ResNetGenerator.width = {FLAGS.width}",
            f"ResNetDiscriminator.width = {FLAGS.width}",
            f"run.batch_size = {FLAGS.batch_size}"]
    xla = FLAGS.jit_compile[0] == "true"
    rows = {}
    for policy in FLAGS.mixed_precision:
        for method in FLAGS.methods:
            files = [os.path.join(ROOT, METHOD_GIN[method])] + list(FLAGS.gin_file)
            print(f"timing {method}, policy {policy} ...", flush=True)
            rows[policy, method] = _variant(policy, xla, gin_files=files, extra_params=same)
    print()
    print(f"methods on the same synthetic {'x'.join(FLAGS.image_shape)} data, width "
          f"{FLAGS.width}, global batch {FLAGS.batch_size}, xla {FLAGS.jit_compile[0]}; "
          f"{FLAGS.iterations} timed iterations after {FLAGS.warmup} warm-up, one iteration = "
          "n_disc D steps + 1 G step; minimal: the hand-written iteration of the same method")
    print(f"{'method':<10}{'policy':<16}{'G params':>11}{'D params':>11}{'s/iter':>16}"
          f"{'s/1k iter':>11}{'ratio':>7}{'paper ratio':>13}{'authors CPU s/it':>18}"
          f"{'their ratio':>13}{'minimal s/it':>14}{'trainer vs minimal':>20}")
    for (policy, method), row in rows.items():
        base = rows.get((policy, "fastgan"))
        ratio = f"{row['mean'] / base['mean']:.2f}" if base else "-"
        paper = (f"{PAPER_S_PER_1K[method] / PAPER_S_PER_1K['fastgan']:.2f}"
                 if method in PAPER_S_PER_1K else "-")
        cpu = f"{AUTHORS_CPU_S[method]:.2f}" if method in AUTHORS_CPU_S else "-"
        theirs = (f"{AUTHORS_CPU_S[method] / AUTHORS_CPU_S['fastgan']:.2f}"
                  if method in AUTHORS_CPU_S else "-")
        ref = row.get("reference")
        minimal = f"{ref:.3f}" if ref else "-"
        overhead = f"{100 * (row['mean'] / ref - 1):+.1f}%" if ref else "-"
        print(f"{method:<10}{policy:<16}{row['g_params']:>11,}{row['d_params']:>11,}"
              f"{row['mean']:>9.3f} ±{row['std']:.3f}{1000 * row['mean']:>11.0f}{ratio:>7}"
              f"{paper:>13}{cpu:>18}{theirs:>13}{minimal:>14}{overhead:>20}")


def _eval_cost():
    """Seconds to sample `--eval_cost` images with the configured G, and to classify them with
    an Inception-v3-sized network; prints both."""
    import keras  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_fast.run import config  # pylint: disable=import-outside-toplevel
    from tfgan_fast.run import experiment  # pylint: disable=import-outside-toplevel

    n, batch = FLAGS.eval_cost, 100
    params = list(FLAGS.gin_param) + ["run.evaluator = None"] + _data_params()
    config.parse(list(FLAGS.gin_file), params)
    keras.mixed_precision.set_global_policy("float32")
    with tempfile.TemporaryDirectory() as model_dir:
        exp = experiment.build(model_dir)
    trainer = exp.trainer
    generate = tf.function(trainer.generate)
    z = tf.random.normal([batch, trainer.z_dim])
    labels = tf.zeros([batch], tf.int32) if trainer.num_classes else None
    g_seconds = _time_fn(lambda: generate(z, labels), max(1, FLAGS.eval_cost_measured // batch))
    inception = keras.applications.InceptionV3(weights=None)
    classify = tf.function(lambda x: inception(x, training=False))
    resized = tf.image.resize(generate(z, labels), (299, 299))
    if resized.shape[-1] == 1:
        resized = tf.tile(resized, [1, 1, 1, 3])
    c_seconds = _time_fn(lambda: classify(resized), max(1, FLAGS.eval_cost_measured // batch))
    print(f"\nconfig: {' + '.join(FLAGS.gin_file)}; {n:,} images in batches of {batch}, "
          f"timed on {FLAGS.eval_cost_measured:,} and scaled")
    print(f"  sampling G ({exp.policy_reason}): {g_seconds * n / batch:.1f} s")
    print(f"  Inception-v3 forward at 299x299 (float32): {c_seconds * n / batch:.1f} s")


def _print_host():
    """The host line every table starts with."""
    from tfgan_fast.runtime import hardware  # pylint: disable=import-outside-toplevel

    print(hardware.describe(hardware.read_cpuinfo()))


def _iteration_flops(exp):
    """`(TF FLOPs of one iteration over all replicas, conv + matmul share, {net: (TF per
    example, hand executed, hand nominal)})` of a built experiment."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_fast.perf import flops  # pylint: disable=import-outside-toplevel

    trainer = exp.trainer
    shape = tuple(exp.data.image_shape)
    n = exp.local_batch
    with exp.strategy.scope():
        counts = flops.function_flops(trainer.train_step, (tf.TensorSpec([n, *shape]),
                                                           tf.TensorSpec([n], tf.int32)))
    replicas = exp.strategy.num_replicas_in_sync

    def labels(b):
        return tf.TensorSpec([b], tf.int32) if trainer.num_classes else None

    nets = {"G": (trainer.generator, lambda b: (tf.TensorSpec([b, trainer.z_dim]), labels(b))),
            "D": (trainer.discriminator, lambda b: (tf.TensorSpec([b, *shape]), labels(b)))}
    forward = {name: (flops.forward_per_example(net, specs),
                      flops.hand_forward(net, shape), flops.hand_forward(net, shape, False))
               for name, (net, specs) in nets.items()}
    return replicas * sum(counts.values()), replicas * flops.matmul_share(counts), forward


def _flops_table():
    """FLOPs per iteration of each method; with --iterations > 0 its speed against the peaks."""
    from tfgan_fast.runtime import hardware  # pylint: disable=import-outside-toplevel

    methods = FLAGS.methods or list(METHOD_GIN)
    unknown = [m for m in methods if m not in METHOD_GIN]
    if unknown:
        raise app.UsageError(f"--methods: unknown {unknown}; choose from {sorted(METHOD_GIN)}")
    same = []
    if FLAGS["width"].present:
        same += [f"ResNetGenerator.width = {FLAGS.width}",
                 f"ResNetDiscriminator.width = {FLAGS.width}"]
    if FLAGS["batch_size"].present:
        same.append(f"run.batch_size = {FLAGS.batch_size}")
    info = hardware.read_cpuinfo()
    peaks = hardware.peak_flops(info, FLAGS.fma_units, FLAGS.clock_ghz) if info else None
    timed = FLAGS.iterations > 0
    rows = []
    for method in methods:
        files = [os.path.join(ROOT, METHOD_GIN[method])] + list(FLAGS.gin_file)
        print(f"counting {method} ...", flush=True)
        exp, batch, _, _ = _build(FLAGS.mixed_precision[0], False, files, same)
        total, matmul, forward = _iteration_flops(exp)
        row = {"method": method, "batch": batch, "flops": total, "matmul": matmul,
               "forward": forward, "times": {}}
        if timed:
            for policy in FLAGS.mixed_precision:
                print(f"timing {method}, policy {policy} ...", flush=True)
                row["times"][policy] = _variant(policy, False, files, same)["mean"]
        rows.append(row)
    print()
    _print_host()
    if peaks:
        clock = FLAGS.clock_ghz or info.mhz / 1000
        print(f"CPU peak: {info.cores} cores x {clock:.2f} GHz x {FLAGS.fma_units} FMA units: "
              f"float32 {peaks['float32'] / 1e9:.0f} GFLOP/s (AVX-512 FMA), bfloat16 "
              f"{peaks['bfloat16'] / 1e9:.0f} GFLOP/s ({peaks['bfloat16_unit']})")
    a100, h100 = hardware.GPUS["a100"][0], hardware.GPUS["h100"][0]
    print("FLOPs: TensorFlow's cost analysis of the traced train_step (all replicas); G and D "
          "forward per example: TensorFlow's conv + matmul count / by hand from the layers as "
          "executed / as the architecture is written (GFLOP). GPU columns: the same FLOPs at "
          "the published bfloat16 dense peak (A100 312, H100 989 TFLOP/s).")
    print(f"{'method':<10}{'batch':>6}{'GFLOP/it':>10}{'conv+mm':>9}"
          f"{'G fwd TF/hand/arch':>24}{'D fwd TF/hand/arch':>24}{'A100 ms':>9}{'H100 ms':>9}")

    def fmt(value):
        return "-" if value is None else f"{value / 1e9:.3f}"

    for row in rows:
        g, d = row["forward"]["G"], row["forward"]["D"]
        print(f"{row['method']:<10}{row['batch']:>6}{row['flops'] / 1e9:>10.1f}"
              f"{row['matmul'] / row['flops']:>9.1%}{'/'.join(map(fmt, g)):>24}"
              f"{'/'.join(map(fmt, d)):>24}{1e3 * row['flops'] / a100:>9.2f}"
              f"{1e3 * row['flops'] / h100:>9.2f}")
    if not timed:
        print("(--iterations > 0 also times each method: achieved FLOP/s and share of peak)")
        return
    print(f"\n{'method':<10}{'policy':<16}{'s/it':>8}{'GFLOP/s':>9}{'of CPU peak':>13}")
    for row in rows:
        for policy, seconds in row["times"].items():
            peak = None
            if peaks:
                peak = peaks["float32" if policy in ("none", "float32") else "bfloat16"]
            rate = row["flops"] / seconds
            share = f"{rate / peak:.1%}" if peak else "-"
            print(f"{row['method']:<10}{policy:<16}{seconds:>8.3f}{rate / 1e9:>9.1f}{share:>13}")


def _run_metadata_graph(fn):
    """The executed graph of the largest function `fn()` runs (after Grappler and the oneDNN
    rewrites): its partition graphs' nodes. `fn` must trace on this call (run metadata records
    a function's graphs when it is instantiated)."""
    from tensorflow.python.eager import context  # pylint: disable=import-outside-toplevel

    ctx = context.context()
    ctx.enable_run_metadata()
    try:
        fn()
        metadata = ctx.export_run_metadata()
    finally:
        ctx.disable_run_metadata()
    graphs = [[node for part in graph.partition_graphs for node in part.node]
              for graph in metadata.function_graphs]
    return max(graphs, key=len, default=[])


def op_type_counts(nodes):
    """`Counter` of `op{fused ops}[dtype]` (`T`, or `SrcT->DstT` for casts) over graph
    nodes."""
    import collections  # pylint: disable=import-outside-toplevel

    from tensorflow.core.framework import types_pb2  # pylint: disable=import-outside-toplevel

    def name(node):
        attr = node.attr
        # A fused kernel's parts (e.g. _MklNativeFusedConv2D{BiasAdd,Relu}) tell fusions apart.
        fused = ""
        if "fused_ops" in attr:
            fused = "{" + ",".join(op.decode() for op in attr["fused_ops"].list.s) + "}"
        if "SrcT" in attr and "DstT" in attr:
            return (f"{node.op}[{types_pb2.DataType.Name(attr['SrcT'].type)[3:].lower()}->"
                    f"{types_pb2.DataType.Name(attr['DstT'].type)[3:].lower()}]")
        if "T" in attr and attr["T"].type:
            return f"{node.op}{fused}[{types_pb2.DataType.Name(attr['T'].type)[3:].lower()}]"
        return node.op + fused

    return collections.Counter(name(node) for node in nodes)


def _traced_op_times(fn):
    """`profiling.op_times` of a profiler trace of `fn()`."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfgan_fast.perf import profiling  # pylint: disable=import-outside-toplevel

    with tempfile.TemporaryDirectory() as log_dir:
        tf.profiler.experimental.start(log_dir)
        try:
            fn()
        finally:
            tf.profiler.experimental.stop()
        return profiling.op_times(profiling.read_trace(profiling.trace_files(log_dir)[-1]))


def _print_op_times(trainer, dataset, reference):
    """Kernel time per op type and iteration, trainer against the minimal iteration, each traced
    over --iterations after --warmup (the 15 largest differences)."""
    n = FLAGS.iterations

    def fit(steps):
        trainer.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)

    def calls(count):
        for _ in range(count):
            reference()

    if FLAGS.warmup:
        fit(FLAGS.warmup)
        calls(FLAGS.warmup)
    ours, theirs = _traced_op_times(lambda: fit(n)), _traced_op_times(lambda: calls(n))
    keys = sorted(set(ours) | set(theirs),
                  key=lambda k: -abs(ours.get(k, 0.0) - theirs.get(k, 0.0)))
    print(f"kernel time per iteration by op type (profiler trace of {n} iterations each; "
          f"total {1e3 * sum(ours.values()) / n:.1f} ms trainer, "
          f"{1e3 * sum(theirs.values()) / n:.1f} ms minimal; valid on a quiet machine only):")
    print(f"{'op type':<48}{'trainer ms':>11}{'minimal ms':>11}{'diff':>9}")
    for key in keys[:15]:
        a, b = 1e3 * ours.get(key, 0.0) / n, 1e3 * theirs.get(key, 0.0) / n
        print(f"{key:<48}{a:>11.2f}{b:>11.2f}{a - b:>+9.2f}")


def _graph_diff():
    """Prints the op-type counts that differ between the trainer's and the minimal iteration's
    executed graphs, for each --mixed_precision."""
    for policy in FLAGS.mixed_precision:
        exp, _, per_replica, dataset = _build(policy, False)
        trainer = exp.trainer
        local = per_replica * trainer.real_batches_per_iteration
        trainer_nodes = _run_metadata_graph(
            lambda: trainer.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0,
                                shuffle=False))
        reference = _reference_iteration(trainer, iter(exp.data.make(local, seed=2)), False)
        if reference is None:
            raise app.UsageError("--graph_diff: the config is not one of the compositions the "
                                 "minimal iteration covers (see _reference_iteration)")
        reference_nodes = _run_metadata_graph(reference)
        ours, theirs = op_type_counts(trainer_nodes), op_type_counts(reference_nodes)
        print()
        _print_host()
        print(f"config: {' + '.join(FLAGS.gin_file)} {' '.join(FLAGS.gin_param)}; policy "
              f"{policy}: {sum(ours.values())} nodes in the trainer's executed graph, "
              f"{sum(theirs.values())} in the minimal iteration's")
        print(f"{'op[dtype]':<48}{'trainer':>9}{'minimal':>9}{'diff':>7}")
        for key in sorted(set(ours) | set(theirs)):
            if ours[key] != theirs[key]:
                print(f"{key:<48}{ours[key]:>9}{theirs[key]:>9}{ours[key] - theirs[key]:>+7}")
        kinds = ("Cast", "Transpose", "_MklTranspose", "_FusedConv2D", "_MklNativeFusedConv2D",
                 "_MklNativeConv2DBackpropInput", "_MklNativeConv2DBackpropFilter",
                 "_MklNativeConv2DBackpropFilterWithBias", "_MklMatMul", "_MklNativeFusedMatMul")
        print("equal in both (and every op type not listed above): " + ", ".join(
            f"{key} {ours[key]}" for key in sorted(ours)
            if key.split("[")[0].split("{")[0] in kinds and ours[key] == theirs[key]))
        if FLAGS.iterations:
            _print_op_times(trainer, dataset, reference)


def main(argv):
    quiet.quiet_tensorflow()
    del argv
    if FLAGS.eval_cost:
        _eval_cost()
        return
    if FLAGS.flops:
        _flops_table()
        return
    if FLAGS.graph_diff:
        if not FLAGS.gin_file:
            raise app.UsageError("--graph_diff needs --gin_file")
        _graph_diff()
        return
    if FLAGS.methods:
        _compare_methods()
        return
    if not FLAGS.gin_file:
        raise app.UsageError("--gin_file (or --methods) is required")
    if _is_vector_config():
        _vector_benchmark()
        return
    rows = []
    for policy in FLAGS.mixed_precision:
        for xla in FLAGS.jit_compile:
            if xla not in ("false", "true"):
                raise app.UsageError(f"--jit_compile values are false/true, got {xla!r}")
            rows.append(_variant(policy, xla == "true"))
    first = rows[0]
    print()
    print(f"config: {' + '.join(FLAGS.gin_file)} {' '.join(FLAGS.gin_param)}")
    print(f"G {first['g_params']:,} params, D {first['d_params']:,} params, "
          f"global batch {first['batch']}, {FLAGS.iterations} timed iterations after "
          f"{FLAGS.warmup} warm-up")
    # Iteration 1 starts from identical weights in every variant, so its losses differ only by
    # arithmetic precision; later iterations also diverge through the training dynamics.
    print(f"{'policy':<16}{'xla':<6}{'s/iter':>16}{'s/1k iter':>12}{'it/s':>8}"
          f"{'d_loss@1':>10}{'g_loss@1':>10}{'rel diff@1':>12}")
    for row in rows:
        d1, g1 = row["logs"][0]["d_loss"], row["logs"][0]["g_loss"]
        rel = max(abs(row["logs"][0][k] - first["logs"][0][k]) / max(abs(first["logs"][0][k]),
                                                                     1e-12)
                  for k in ("d_loss", "g_loss"))
        print(f"{row['policy']:<16}{str(row['xla']).lower():<6}"
              f"{row['mean']:>9.3f} ±{row['std']:.3f}{1000 * row['mean']:>12.0f}"
              f"{1 / row['mean']:>8.2f}{d1:>10.4f}{g1:>10.4f}{rel:>12.2e}")
    for row in rows:
        if "reference" in row:
            print(f"minimal hand-written iteration ({row['policy']}, "
                  f"xla={str(row['xla']).lower()}): {row['reference']:.3f} s; the trainer takes "
                  f"{100 * (row['mean'] / row['reference'] - 1):+.1f}%")
    for row in rows:
        if "parts" in row:
            print(f"\nbreakdown ({row['policy']}, xla={str(row['xla']).lower()}), "
                  "seconds per call:")
            for name, seconds in row["parts"].items():
                print(f"  {name:<40}{seconds:>8.3f}")


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
