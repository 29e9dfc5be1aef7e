"""Floating-point operations of the networks and of one training iteration.

Two independent counts:

* `graph_flops`: TensorFlow's cost analysis (the statistics registered per op type that
  `tf.compat.v1.profiler`'s `float_operation` view sums) of a traced function: convolutions and
  their two gradients, matmuls, bias additions, pooling and the element-wise arithmetic of the
  losses and the optimisers. Batch norm, ReLU, tanh and casts register no FLOPs, so they are not
  in it.
* `resnet_generator_forward` and friends: by hand from the layers of the CIFAR networks,
  multiply-adds of the convolutions and dense layers (2 FLOP each) as tfgan_fast executes them
  (`executed=True`: the up-sampling 3x3 convolution as a 4x4 stride-2 transposed convolution,
  the 3x3 convolution + 2x2 average pool as a 4x4 stride-2 convolution, 1x1 shortcuts on the
  small map; see `tfgan_fast.nets.layers`), or as the architecture is written
  (`executed=False`). Biases and element-wise work are left out.
"""

import collections

import tensorflow as tf

MATMUL_TYPES = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MatMul",
                "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")


def graph_flops(graph):
    """`{op type: FLOPs}` of a `tf.Graph` (e.g. `tf.function(f).get_concrete_function(...)
    .graph`) from TensorFlow's registered op statistics; shapes must be static."""
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    root = tf.compat.v1.profiler.profile(graph, cmd="op", options=options)
    counts = collections.Counter()
    pending = list(root.children)
    while pending:  # the "op" view nests each op type under the previous one
        node = pending.pop()
        counts[node.name] += node.float_ops
        pending.extend(node.children)
    return dict(counts)


def function_flops(fn, *specs):
    """`graph_flops` of `fn` traced on `specs` (`tf.TensorSpec`s or tensors)."""
    return graph_flops(tf.function(fn).get_concrete_function(*specs).graph)


def matmul_share(counts):
    """FLOPs of the convolution and matmul types (and their gradients) in `counts`."""
    return sum(v for k, v in counts.items() if k in MATMUL_TYPES)


def conv(out_size, kernel, c_in, c_out, stride_in_size=None):
    """Multiply-add FLOPs of a square convolution producing an `out_size`^2 map (a transposed
    convolution: pass its input size as `stride_in_size`, each input pixel meets every tap)."""
    pixels = (stride_in_size or out_size) ** 2
    return 2 * pixels * kernel * kernel * c_in * c_out


def dense(n_in, n_out):
    """Multiply-add FLOPs of a dense layer on one example."""
    return 2 * n_in * n_out


def resnet_generator_forward(resolution=32, width=128, z_dim=128, channels=3, bottom_width=4,
                             executed=True):
    """FLOPs per example of `ResNetGenerator` (CIFAR layout, no channel multipliers)."""
    total = dense(z_dim, bottom_width * bottom_width * width)
    size = bottom_width
    while size < resolution:
        if executed:  # UpsampleConv2D: 4x4 taps per input pixel; 1x1 shortcut before Up
            total += conv(2 * size, 4, width, width, stride_in_size=size)
            total += conv(size, 1, width, width)
        else:
            total += conv(2 * size, 3, width, width) + conv(2 * size, 1, width, width)
        total += conv(2 * size, 3, width, width)  # conv2
        size *= 2
    return total + conv(resolution, 3, width, channels)


def resnet_discriminator_forward(resolution=32, width=128, channels=3, num_classes=10, head="ac",
                                 learnable_shortcut="always", executed=True):
    """FLOPs per example of `ResNetDiscriminator` (CIFAR layout: down-blocks to 8x8, then two
    blocks at 8x8)."""
    total, size, c_in = 0, resolution, channels
    while size > 8:  # down-blocks; the first is SNGAN's optimized block
        total += conv(size, 3, c_in, width)  # conv1
        # conv2 + 2x2 average pool: one 4x4 stride-2 convolution as executed
        total += conv(size // 2, 4, width, width) if executed else conv(size, 3, width, width)
        # shortcut: pool then Conv1x1 (executed, and SNGAN's optimized block), or SNGAN's
        # regular block's Conv1x1 then pool
        first = size == resolution
        total += conv(size // 2 if executed or first else size, 1, c_in, width)
        size, c_in = size // 2, width
    for _ in range(2):
        total += 2 * conv(size, 3, width, width)
        if learnable_shortcut == "always":
            total += conv(size, 1, width, width)
    if head == "ac":
        return total + dense(width, 1) + dense(width, num_classes)
    if head == "projection":  # psi, and V applied to the one-hot labels
        return total + dense(width, 1) + dense(num_classes, width)
    return total + dense(width, 1)


def sngan_cnn_generator_forward(resolution=32, width=512, z_dim=128, channels=3,
                                bottom_width=4):
    """FLOPs per example of `SNGANCNNGenerator`: dense, 4x4 stride-2 deconvolutions (channels
    halve), Conv3x3 out."""
    total = dense(z_dim, bottom_width * bottom_width * width)
    size, c = bottom_width, width
    while size < resolution:
        total += conv(2 * size, 4, c, c // 2, stride_in_size=size)
        size, c = 2 * size, c // 2
    return total + conv(resolution, 3, c, channels)


def sngan_cnn_discriminator_forward(resolution=32, width=64, channels=3, bottom_width=4):
    """FLOPs per example of `SNGANCNNDiscriminator` (unconditional): per halving a Conv3x3/1
    and a Conv4x4/2 at `width * 2^i` channels, a last Conv3x3 at twice the last, Dense(1) on the
    flattened map."""
    total, size, c_in, c = 0, resolution, channels, width
    while size > bottom_width:
        total += conv(size, 3, c_in, c) + conv(size // 2, 4, c, c)
        size, c_in, c = size // 2, c, 2 * c
    total += conv(size, 3, c_in, c)
    return total + dense(size * size * c, 1)


def hand_forward(net, image_shape, executed=True):
    """The hand count per example for one of the CIFAR networks above (`image_shape`
    `(H, W, C)`), or None for a network or layout it does not cover."""
    # pylint: disable=import-outside-toplevel
    from tfgan_fast.nets import resnet
    from tfgan_fast.nets import sngan_cnn

    resolution, channels = image_shape[0], image_shape[-1]
    plain = (getattr(net, "channel_multipliers", None) is None
             and not getattr(net, "attention_resolution", 0))
    if isinstance(net, resnet.ResNetGenerator) and plain and resolution // net.bottom_width >= 2:
        return resnet_generator_forward(resolution, net.width, net.z_dim, channels,
                                         net.bottom_width, executed)
    if isinstance(net, resnet.ResNetDiscriminator) and plain:
        return resnet_discriminator_forward(resolution, net.width, channels, net.num_classes,
                                            net.head, net.learnable_shortcut, executed)
    if isinstance(net, sngan_cnn.SNGANCNNGenerator) and executed:
        return sngan_cnn_generator_forward(resolution, net.width, net.z_dim, channels,
                                           net.bottom_width)
    if (isinstance(net, sngan_cnn.SNGANCNNDiscriminator) and not net.conditional
            and executed):
        return sngan_cnn_discriminator_forward(resolution, net.width, channels,
                                               net.bottom_width)
    return None


def forward_per_example(net, specs_of):
    """TensorFlow's conv + matmul FLOPs of one example through `net` (training mode): the
    count at batch 2 minus the count at batch 1, so per-call work that does not scale with the
    batch (spectral norm's power iteration) drops out. `specs_of(n)` gives the call's input
    specs for batch n."""
    counts = [matmul_share(function_flops(lambda *a: net(*a, training=True), *specs_of(n)))
              for n in (1, 2)]
    return counts[1] - counts[0]
