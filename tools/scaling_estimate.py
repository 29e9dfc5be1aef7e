r"""On paper: all-reduce traffic against compute per iteration, for a config on N GPUs.

  python tools/scaling_estimate.py --gin_file=gin/fastgan_cifar.gin --image_shape=32,32,3 \
      --num_classes=10 --gpus=8,64
  python tools/scaling_estimate.py --gin_file=gin/imagenet128/biggan.gin \
      --image_shape=128,128,3 --num_classes=1000 --gpus=8,64

Builds the config's networks (no data needed: a shape stands in), counts their parameters and
the floating-point operations of one forward pass per example (TensorFlow's graph profiler), and
models one training iteration under data parallelism:

* compute: every D step runs G forward on B fakes and D forward + backward on B reals and B
  fakes; every G step runs G and D forward + backward on B fakes; backward = 2x forward. Spread
  over N GPUs at `--utilisation` of the GPU's peak (penalties and LOGAN's latent steps add more
  compute, so the communication share printed is an upper bound for them);
* communication: each optimiser step all-reduces its network's float32 gradients; a ring
  all-reduce moves `2 (N - 1) / N x bytes` through each GPU's slowest link: NVLink inside an
  8-GPU node, the node's InfiniBand beyond it. tfgan_fast applies gradients after the whole
  backward pass, so no overlap is assumed.

GPU figures (published peaks, per direction): A100 SXM 312 TFLOP/s bf16 dense, NVLink 3 300 GB/s;
H100 SXM 989 TFLOP/s bf16 dense, NVLink 4 450 GB/s; V100 SXM2 125 TFLOP/s fp16 tensor cores,
NVLink 2 150 GB/s; between nodes one InfiniBand adapter per GPU, as in NVIDIA's DGX A100 (HDR,
200 Gb/s = 25 GB/s) and DGX H100 (NDR, 400 Gb/s = 50 GB/s).
"""

import os
import tempfile

from absl import flags

from tfgan_fast.run import cli
from tfgan_fast.runtime import hardware
from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin config file(s) of the model.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings.")
flags.DEFINE_list("image_shape", ["32", "32", "3"], "H,W,C of the data.")
flags.DEFINE_integer("num_classes", 10, "Classes of the data (0: unconditional).")
flags.DEFINE_list("gpus", ["8", "64"], "GPU counts to estimate.")
flags.DEFINE_enum("gpu", "a100", ["a100", "h100", "v100"], "GPU model (see the module "
                  "docstring).")
flags.DEFINE_float("utilisation", 0.4, "Fraction of the GPU's peak the networks reach.")
flags.DEFINE_integer("batch_size", None, "Global batch (default: the config's run.batch_size).")

GPUS = hardware.GPUS  # peak FLOP/s, NVLink GB/s per direction, inter-node GB/s per GPU
GPUS_PER_NODE = 8


def forward_flops(fn, *specs):
    """Floating-point operations of one call of `fn` on inputs of `specs` (graph profiler)."""
    from tfgan_fast.perf import flops  # pylint: disable=import-outside-toplevel
    return sum(flops.function_flops(fn, *specs).values())


def iteration_model(params_g, params_d, flops_g, flops_d, batch, d_steps, g_steps):
    """`(FLOPs, all-reduced bytes)` of one iteration (see the module docstring)."""
    d_step = batch * (flops_g + 3 * 2 * flops_d)
    g_step = batch * 3 * (flops_g + flops_d)
    flops = d_steps * d_step + g_steps * g_step
    grad_bytes = 4 * (d_steps * params_d + g_steps * params_g)
    return flops, grad_bytes


def estimate(flops, grad_bytes, gpus, gpu="a100", utilisation=0.4):
    """`(compute s, all-reduce s)` per iteration on `gpus` GPUs."""
    peak, nvlink, network = GPUS[gpu]
    compute = flops / gpus / (peak * utilisation)
    link = nvlink if gpus <= GPUS_PER_NODE else network
    allreduce = 2 * (gpus - 1) / gpus * grad_bytes / link if gpus > 1 else 0.0
    return compute, allreduce


def main(argv):
    del argv
    quiet.quiet_tensorflow()
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tfgan_fast.run import config  # pylint: disable=import-outside-toplevel
    from tfgan_fast.run import experiment  # pylint: disable=import-outside-toplevel

    shape = tuple(int(s) for s in FLAGS.image_shape)
    bindings = ["run.data = @DataSpec()", f"DataSpec.num_classes = {FLAGS.num_classes}",
                f"DataSpec.image_shape = {shape}", "DataSpec.name = 'shape'",
                "run.evaluator = None", "run.mixed_precision = None", "run.callbacks = []"]
    if FLAGS.batch_size:
        bindings.append(f"run.batch_size = {FLAGS.batch_size}")
    config.parse(FLAGS.gin_file, bindings + FLAGS.gin_param)
    with tempfile.TemporaryDirectory() as model_dir:
        exp = experiment.build(os.path.join(model_dir, "run"))
    trainer = exp.trainer
    batch = exp.global_batch
    g, d = trainer.generator, trainer.discriminator
    params_g, params_d = trainer.parameter_counts()
    labels = tf.TensorSpec([1], tf.int32) if trainer.num_classes else None
    flops_g = forward_flops(lambda z, y: g(z, y, training=True),
                            tf.TensorSpec([1, trainer.z_dim]), labels)
    flops_d = forward_flops(lambda x, y: d(x, y, training=True),
                            tf.TensorSpec([1, *shape]), labels)
    d_steps = getattr(trainer, "n_disc", 1) * getattr(trainer, "free_steps", 1)
    flops, grad_bytes = iteration_model(params_g, params_d, flops_g, flops_d, batch,
                                        d_steps, 1)
    print(f"{' + '.join(FLAGS.gin_file)}: G {params_g / 1e6:.2f}M parameters, "
          f"{flops_g / 1e9:.2f} GFLOP forward per example; D {params_d / 1e6:.2f}M, "
          f"{flops_d / 1e9:.2f} GFLOP; batch {batch}, {d_steps} D step(s) + 1 G step per "
          f"iteration: {flops / 1e12:.2f} TFLOP and {grad_bytes / 1e6:.0f} MB of gradients "
          "all-reduced per iteration.")
    print(f"\n| GPUs ({FLAGS.gpu}, {FLAGS.utilisation:.0%} of peak) | compute per iteration | "
          "all-reduce per iteration | all-reduce share |")
    print("| ---: | ---: | ---: | ---: |")
    for n in (int(x) for x in FLAGS.gpus):
        compute, allreduce = estimate(flops, grad_bytes, n, FLAGS.gpu, FLAGS.utilisation)
        print(f"| {n} | {1000 * compute:.1f} ms | {1000 * allreduce:.1f} ms | "
              f"{allreduce / (compute + allreduce):.0%} |")


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
