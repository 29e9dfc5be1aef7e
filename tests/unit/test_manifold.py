"""Precision / recall and density / coverage on point sets with known answers, and against a
slow reference written from the papers' definitions."""

import numpy as np
import tensorflow as tf

from tfgan_fast.eval import manifold


def _reference(real, fake, k):
    """Brute force, straight from Kynkäänniemi et al. 2019 and Naeem et al. 2020."""
    def radii(x):
        return np.array([sorted(np.linalg.norm(x - p, axis=1))[k] for p in x])

    r_real, r_fake = radii(real), radii(fake)
    inside_real = [[np.linalg.norm(f - r) <= rad for r, rad in zip(real, r_real)] for f in fake]
    inside_fake = [[np.linalg.norm(r - f) <= rad for f, rad in zip(fake, r_fake)] for r in real]
    return {"precision": np.mean([any(row) for row in inside_real]),
            "recall": np.mean([any(row) for row in inside_fake]),
            "density": np.sum(inside_real) / (k * len(fake)),
            "coverage": np.mean(np.any(inside_real, axis=0))}


class ManifoldTest(tf.test.TestCase):

    def test_knn_radii_by_hand(self):
        points = np.array([[0.0], [1.0], [3.0], [7.0]])
        # Neighbour distances: 0 -> 1, 3, 7; 1 -> 1, 2, 6; 3 -> 2, 3, 4; 7 -> 4, 6, 7.
        self.assertAllClose(manifold.knn_radii(points, 1), [1, 1, 2, 4])
        self.assertAllClose(manifold.knn_radii(points, 2, block=3), [3, 2, 3, 6])
        with self.assertRaisesRegex(ValueError, "k = 4 needs at least k \\+ 1 = 5 features"):
            manifold.knn_radii(points, 4)

    def test_identical_sets(self):
        x = np.random.default_rng(0).normal(size=(50, 4))
        self.assertEqual(manifold.precision_recall(x, x), {"precision": 1.0, "recall": 1.0})
        self.assertEqual(manifold.density_coverage(x, x)["coverage"], 1.0)

    def test_disjoint_sets(self):
        rng = np.random.default_rng(1)
        real, fake = rng.normal(size=(40, 3)), rng.normal(size=(40, 3)) + 100.0
        self.assertEqual(manifold.precision_recall(real, fake), {"precision": 0.0, "recall": 0.0})
        self.assertEqual(manifold.density_coverage(real, fake), {"density": 0.0, "coverage": 0.0})

    def test_one_set_inside_the_other_by_hand(self):
        real = np.arange(10, dtype=np.float32)[:, None]  # 0, 1, ..., 9
        fake = np.array([[2.0], [3.0], [4.0], [5.0]])
        # Real radii (k = 1): 1 everywhere, so every fake is inside: precision 1. Fake radii:
        # 1, so the fake manifold is [1, 6]: reals 1..6 are inside, recall 6 / 10.
        self.assertAllClose(manifold.precision_recall(real, fake, k=1),
                            {"precision": 1.0, "recall": 0.6})
        # Each fake lies in the balls of its real twin and both neighbours (3 balls, k = 1):
        # density 3 * 4 / (1 * 4) = 3; balls 1..6 hold a fake: coverage 6 / 10.
        self.assertAllClose(manifold.density_coverage(real, fake, k=1),
                            {"density": 3.0, "coverage": 0.6})

    def test_a_dropped_mode_lowers_recall_not_precision(self):
        rng = np.random.default_rng(2)
        modes = [rng.normal(size=(100, 2)) * 0.1 + c for c in ((0, 0), (5, 0), (0, 5), (5, 5))]
        real = np.concatenate(modes)
        fake = np.concatenate([m + rng.normal(size=m.shape) * 0.01 for m in modes[:2]])
        result = manifold.precision_recall(real, fake)
        self.assertGreater(result["precision"], 0.95)
        self.assertBetween(result["recall"], 0.4, 0.55)
        dc = manifold.density_coverage(real, fake)
        self.assertBetween(dc["coverage"], 0.4, 0.55)

    def test_matches_the_slow_reference_on_random_sets(self):
        rng = np.random.default_rng(3)
        real, fake = rng.normal(size=(60, 5)), rng.normal(size=(45, 5)) * 1.3 + 0.2
        for k in (1, 3, 5):
            want = _reference(real, fake, k)
            got = {**manifold.precision_recall(real, fake, k=k, block=7),
                   **manifold.density_coverage(real, fake, k=k, block=11)}
            self.assertAllClose(got, want, atol=1e-6, msg=f"k={k}")

    def test_per_class(self):
        rng = np.random.default_rng(4)
        real = rng.normal(size=(60, 3))
        labels = np.arange(60) % 3
        fake = real[labels != 2] + 0.001  # class 2 never generated
        out = manifold.per_class(manifold.precision_recall, real, labels, fake,
                                 labels[labels != 2], num_classes=3)
        self.assertEqual(sorted(out), [0, 1])
        self.assertEqual(out[0], {"precision": 1.0, "recall": 1.0})


if __name__ == "__main__":
    tf.test.main()
