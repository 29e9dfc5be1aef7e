"""An exponential moving average of the generator's weights (BigGAN, StyleGAN, StudioGAN).

`GeneratorEMA` keeps a second generator, built like the trained one, whose variables follow

    ema <- d_t * ema + (1 - d_t) * w        after every G update from iteration `start` on,
    ema <- w                                 before it (so the average starts from the weights),

with `d_t = decay`, or with `warmup` `d_t = min(decay, (1 + u) / (10 + u))`, `u` the number of
averaged updates so far (the warm-up of `tf.train.ExponentialMovingAverage(num_updates=u)`), so
that early averages are not dominated by the random initialisation.

**Every** variable of G is averaged, batch-norm moving means and variances included, as
BigGAN-PyTorch's `ema` does with its buffers: the averaged generator is used in inference mode
with statistics averaged the way its weights are. (Recomputing the statistics for the averaged
weights, StyleGAN's choice, would need extra passes at every evaluation.)

The averaged variables are created in the strategy's scope with `ONLY_FIRST_REPLICA`
aggregation: replica 0's update is written to every replica, which keeps them identical (the
weights they average are identical already). They are part of the checkpoint, so a resumed run
continues the average exactly.
"""

import gin
import tensorflow as tf


def ema_decay(decay, updates, warmup):
    """The decay of the next update: `decay`, or with `warmup` `min(decay, (1+u)/(10+u))`."""
    decay = tf.constant(decay, tf.float32)
    if not warmup:
        return decay
    updates = tf.cast(updates, tf.float32)
    return tf.minimum(decay, (1.0 + updates) / (10.0 + updates))


@gin.configurable
class GeneratorEMA(tf.Module):
    """The averaged twin of a generator.

    Args:
        decay: the average's decay per G update (e.g. 0.999; BigGAN uses 0.9999).
        start: the iteration from which the weights are averaged (copied before it).
        warmup: ramp the decay up as `(1 + u) / (10 + u)` over the first updates.
    """

    def __init__(self, decay=0.999, start=0, warmup=False):
        super().__init__(name="generator_ema")
        if not 0.0 < float(decay) < 1.0:
            raise ValueError(f"GeneratorEMA.decay must lie in (0, 1), got {decay!r}")
        if not isinstance(start, int) or start < 0:
            raise ValueError(f"GeneratorEMA.start must be an integer >= 0, got {start!r}")
        self.decay, self.start, self.warmup = float(decay), start, bool(warmup)
        self.generator = None
        self.updates = None
        self._pairs = ()

    def attach(self, generator, average):
        """Pairs `average` (a built twin of `generator`) with it; call in the strategy scope."""
        sources = [v for v in generator.variables if tf.as_dtype(v.dtype).is_floating]
        targets = [v for v in average.variables if tf.as_dtype(v.dtype).is_floating]
        if [tuple(v.shape) for v in sources] != [tuple(v.shape) for v in targets]:
            raise ValueError("the EMA generator was not built like the generator: "
                             f"{len(sources)} and {len(targets)} float variables")
        self.generator = average
        self._pairs = tuple(zip(sources, targets))
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="ema_updates",
                                   aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.copy()

    def copy(self):
        """Sets the average to the current weights."""
        for source, target in self._pairs:
            target.assign(tf.cast(source, tf.as_dtype(target.dtype)))

    def update(self, iteration):
        """One average step after a G update at `iteration` (replica or cross-replica context)."""
        averaging = tf.cast(iteration, tf.int64) >= self.start
        decay = tf.where(averaging, ema_decay(self.decay, self.updates, self.warmup), 0.0)
        for source, target in self._pairs:
            value = tf.cast(source, tf.float32)
            target.assign(tf.cast(decay * tf.cast(target, tf.float32) + (1.0 - decay) * value,
                                  tf.as_dtype(target.dtype)))
        self.updates.assign_add(tf.cast(averaging, tf.int64))

    def describe(self):
        return (f"EMA of G (decay {self.decay:g} from iteration {self.start}"
                + (", warm-up" if self.warmup else "") + ")")
