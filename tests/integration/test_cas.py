"""Classification accuracy score: a generator that draws its labels' classes scores high, one
that draws other classes scores near zero."""

import numpy as np
import tensorflow as tf

from tfgan_fast import data as data_lib
from tfgan_fast.eval import cas


class CASTest(tf.test.TestCase):

    def test_faithful_and_mislabelling_generators(self):
        source = data_lib.QuickstartFashionMNIST(augment=False, shuffle=False)
        images, labels = [], []
        for x, y in source.make(500, repeat=False):
            images.append(x.numpy())
            labels.append(y.numpy())
        images, labels = np.concatenate(images), np.concatenate(labels)
        by_class = [images[labels == c] for c in range(10)]

        def generator(shift):
            def sample_fn(z, y):  # real images of class y + shift, chosen by z
                pick = (np.abs(z.numpy()[:, 0]) * 1000).astype(int)
                return np.stack([by_class[(int(c) + shift) % 10][i % 500]
                                 for c, i in zip(y.numpy(), pick)])
            return sample_fn

        test = data_lib.FashionMNIST(split="test", augment=False, shuffle=False)
        # Enough steps for batch norm's moving statistics to settle (momentum 0.99).
        recipe = dict(per_class=100, epochs=15, width=8, batch_size=64)
        faithful = cas.classification_accuracy_score(generator(0), 4, 10, test, **recipe)
        shifted = cas.classification_accuracy_score(generator(1), 4, 10, test, **recipe)
        self.assertEqual(faithful["cas_train_images"], 960)  # 1000, in whole batches of 64
        self.assertEqual(faithful["cas_test_images"], 10000)
        self.assertGreater(faithful["cas"], 0.6, shifted)
        self.assertLess(shifted["cas"], 0.1)  # every class learnt as its neighbour

    def test_unconditional_generators_are_refused(self):
        test = data_lib.FashionMNIST(split="test", augment=False, shuffle=False)
        with self.assertRaisesRegex(ValueError, "class-conditional"):
            cas.classification_accuracy_score(lambda z, y: z, 4, 0, test)


if __name__ == "__main__":
    tf.test.main()
