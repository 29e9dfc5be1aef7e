"""Scores a pool of generated images with tfgan_fast's own Evaluator (parity study).

Developer script (docs/parity.md). The pool is an .npz of `images` (NHWC, [-1, 1]) and `labels`;
each label the evaluator asks for is served from the pool without reuse, so it needs at least
2,000 images per class (10k samples plus the intra-class FID's 1,000 per class). Settings as
`tools/evaluate.py --classifier_path=packaged:fashion_mnist --num_samples=10000 --intra_class`.

    python scripts/parity/eval_pool.py pool.npz result.json [CLASSIFIER_PATH]
"""
import json, sys
import numpy as np
import tensorflow as tf
from tfgan_fast.eval import classifiers, evaluator as evaluator_lib, stats
from tfgan_fast.runtime import quiet

quiet.quiet_tensorflow()
pool = np.load(sys.argv[1]); out = sys.argv[2]
images, labels = pool["images"], pool["labels"]
by_class = {c: list(np.flatnonzero(labels == c)) for c in range(10)}
cursor = {c: 0 for c in range(10)}

def sample_fn(z, y):
    y = np.asarray(y)
    rows = []
    for c in y:
        rows.append(by_class[int(c)][cursor[int(c)]]); cursor[int(c)] += 1
    return tf.constant(images[rows])

classifier = classifiers.make_classifier(sys.argv[3] if len(sys.argv) > 3 else "packaged:fashion_mnist", False)
real = stats.named_data_source("fashion_mnist", "train", 32)
ev = evaluator_lib.Evaluator(classifier=classifier, num_samples=10000, real_data=real,
                             real_split="train", intra_class=True, progress=False)
r = ev.evaluate(sample_fn, 128, 10, seed=0)
keep = {k: r[k] for k in ("fid", "intra_fid_mean", "class_acc", "precision", "recall", "is_mean")}
print(json.dumps(keep)); json.dump(keep, open(out, "w"))
