"""Samples an authors' FastGAN checkpoint for tfgan_fast's evaluator (parity study).

Developer script (docs/parity.md); runs in the scratch venv with `torch` and the authors' clone in
`$FASTGAN_DIR`. G is put in eval mode, as the authors' `eval_FID.py` samples it, and the images are
saved NHWC in [-1, 1] with their labels to an .npz.

    python scripts/parity/sample_authors.py --ckpt RUN/check_pts/gen_4.pth --out pool.npz
"""
import argparse, os, sys
import numpy as np
import torch
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("FASTGAN_DIR", os.path.join(HERE, "fastgan")))
from tools.loading import load_models_gen  # noqa: E402
from tools.others import sample_ZCs  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--ckpt"); p.add_argument("--out"); p.add_argument("--n", type=int, default=25000)
p.add_argument("--fm_base", type=int, default=64); p.add_argument("--seed", type=int, default=123)
a = p.parse_args()
torch.manual_seed(a.seed)
g = load_models_gen(net="sngan_cifar", n_gpu=0, dim_z=128, img_c=1, img_width=32, fm_base=a.fm_base,
                    bn=True, n_classes=10, load_path=a.ckpt)
g.eval()
xs, ys = [], []
with torch.no_grad():
    for i in range(0, a.n, 500):
        z, c_int, c_vec = sample_ZCs(500, 128, 10, "normal", [0., 1.], 0)
        xs.append(g(z, c_vec).permute(0, 2, 3, 1).numpy()); ys.append(c_int.view(-1).numpy())
np.savez(a.out, images=np.concatenate(xs)[:a.n], labels=np.concatenate(ys)[:a.n])
print("wrote", a.out)
