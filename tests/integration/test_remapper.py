"""TensorFlow's oneDNN remapper error (scripts/remapper_repro.py): our discriminators' training
step does not trigger it, and the plain-ReLU form still does (else the workaround may go)."""
import os
import subprocess
import sys
import unittest

from tests.support import ROOT

TOOL = os.path.join(ROOT, "scripts", "remapper_repro.py")
MESSAGE = "remapper failed"
# A residual D (ReLU at block inputs) and a leaky-ReLU D, through `masked_activation`.
NETS = "resnet_ac+dcgan"


def _stderr(*flags):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, TOOL, *flags], capture_output=True, text=True,
                          env=env, check=False, timeout=600)
    if proc.returncode:
        raise AssertionError(f"{TOOL} {' '.join(flags)} failed:\n{proc.stderr[-3000:]}")
    return proc.stderr


class RemapperTest(unittest.TestCase):

    def test_our_discriminators_do_not_trigger_it(self):
        err = _stderr(f"--child=net:{NETS}")
        self.assertNotIn(MESSAGE, err, "a D update logs TensorFlow's remapper error again")

    def test_plain_relu_still_triggers_it(self):
        err = _stderr(f"--child=net:{NETS}", "--relu")
        self.assertIn(MESSAGE, err, "TensorFlow's remapper no longer fails on our networks "
                      "with plain ReLU / leaky ReLU: nets.layers.masked_activation can go back "
                      "to tf.nn.relu / tf.nn.leaky_relu")
