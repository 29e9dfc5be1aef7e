"""The EMA generator's update against a hand computation (tests/integration/test_ema.py: in
training, resumed, replicated, evaluated and exported)."""

import keras
import tensorflow as tf

from tfgan_fast.algorithms import ema as ema_lib


def _dense(seed):
    keras.utils.set_random_seed(seed)
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    return net


class UpdateTest(tf.test.TestCase):

    def test_copy_before_start_then_average(self):
        g, twin = _dense(0), _dense(1)
        ema = ema_lib.GeneratorEMA(decay=0.75, start=2)
        ema.attach(g, twin)
        self.assertAllClose(twin.variables[0], g.variables[0])  # starts as a copy
        kernel = g.variables[0]
        history = []
        expected = kernel.numpy().copy()
        for iteration in range(5):
            kernel.assign(kernel + 1.0 + iteration)  # a "G update"
            ema.update(iteration)
            w = kernel.numpy()
            expected = w if iteration < 2 else 0.75 * expected + 0.25 * w
            history.append(twin.variables[0].numpy().copy())
            self.assertAllClose(history[-1], expected)
        self.assertEqual(int(ema.updates), 3)

    def test_warmup(self):
        self.assertAllClose(ema_lib.ema_decay(0.999, 0, True), 0.1)        # (1 + 0) / (10 + 0)
        self.assertAllClose(ema_lib.ema_decay(0.999, 90, True), 91 / 100)
        self.assertAllClose(ema_lib.ema_decay(0.999, 10 ** 6, True), 0.999)
        self.assertAllClose(ema_lib.ema_decay(0.999, 0, False), 0.999)
        g, twin = _dense(0), _dense(1)
        ema = ema_lib.GeneratorEMA(decay=0.99, warmup=True)
        ema.attach(g, twin)
        start = g.variables[0].numpy().copy()
        g.variables[0].assign(start + 10.0)
        ema.update(0)  # decay 0.1
        self.assertAllClose(twin.variables[0], 0.1 * start + 0.9 * (start + 10.0))

    def test_bad_values(self):
        with self.assertRaisesRegex(ValueError, r"GeneratorEMA.decay must lie in \(0, 1\), got 1"):
            ema_lib.GeneratorEMA(decay=1)
        with self.assertRaisesRegex(ValueError, "GeneratorEMA.start must be an integer >= 0"):
            ema_lib.GeneratorEMA(start=-1)
        with self.assertRaisesRegex(ValueError, "not built like the generator"):
            ema_lib.GeneratorEMA().attach(_dense(0), keras.Sequential(
                [keras.Input((3,)), keras.layers.Dense(4)]))


if __name__ == "__main__":
    tf.test.main()
