"""The package as users install it: a wheel in a fresh virtualenv ships the gin configs (with
their `include 'base/...'`) and the tools, and works outside the repository."""

import glob
import os
import re
import site
import subprocess
import sys
import tempfile

import pytest
import tensorflow as tf

from tests.support import ROOT


@pytest.mark.slow
class WheelTest(tf.test.TestCase):

    def test_a_wheel_ships_the_configs_and_the_tools(self):
        with tempfile.TemporaryDirectory() as tmp:
            self._check(tmp)

    def _check(self, tmp):
        build = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
             "-w", tmp, ROOT], capture_output=True, text=True, check=False)
        self.assertEqual(build.returncode, 0, build.stderr[-3000:])
        wheel = glob.glob(os.path.join(tmp, "tfgan_fast-*.whl"))
        self.assertLen(wheel, 1)
        venv = os.path.join(tmp, "venv")
        # The system site provides TensorFlow & co. through PYTHONPATH, so that its .pth files
        # (an editable install's import hook among them) are not run: only tfgan_fast comes
        # from the wheel.
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        python = os.path.join(venv, "bin", "python")
        # Without PYTHONPATH, pip sees no other tfgan_fast (the checkout's egg-info, an
        # editable install) that would make it skip the wheel as "already satisfied".
        bare = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        install = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps",
                                  "--no-index", wheel[0]], capture_output=True, text=True,
                                 check=False, env=bare)
        self.assertEqual(install.returncode, 0, install.stderr[-3000:])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(site.getsitepackages()))
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        elsewhere = os.path.join(tmp, "elsewhere")
        os.makedirs(elsewhere)
        probe = (
            "import tfgan_fast, gin\n"
            "from tfgan_fast.run import config, gin_files\n"
            "print(tfgan_fast.__file__)\n"
            "print(gin_files.GIN_DIR)\n"
            "config.parse([gin_files.resolve_gin_file('gin/fastgan_cifar.gin')])\n"
            "print(gin.query_parameter('FastGAN.free_steps'))\n")
        out = subprocess.run([python, "-c", probe], cwd=elsewhere, env=env,
                             capture_output=True, text=True, check=False)
        self.assertEqual(out.returncode, 0, out.stderr[-3000:])
        package, gin_dir, free_steps = out.stdout.split()
        self.assertTrue(package.startswith(venv), package)
        self.assertEqual(gin_dir, os.path.join(os.path.dirname(package), "configs"))
        self.assertEqual(free_steps, "2")  # from base/fastgan.gin, included by the config
        for command in ([python, "-m", "tfgan_fast.tools.race", "--helpfull"],
                        [os.path.join(venv, "bin", "tfgan_fast_export"), "--helpfull"]):
            out = subprocess.run(command, cwd=elsewhere, env=env, capture_output=True,
                                 text=True, check=False)
            # absl prints the help and exits with status 1.
            self.assertIn("--model_dir" if "export" in command[0] else "--race_dir",
                          out.stdout + out.stderr, out.stderr[-3000:])


class ReadmeCommandsTest(tf.test.TestCase):

    def test_ci_runs_exactly_the_readmes_test_command(self):
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            blocks = re.findall(r"```bash\n(.*?)```", f.read(), re.S)
        self.assertEqual(blocks[0].strip(), "pip install -e . && python -m tfgan_fast.train "
                         "--gin_file=gin/quickstart.gin --model_dir=runs/quickstart")
        test_command = blocks[1].strip()
        self.assertIn("python -m pytest -q tests", test_command)
        with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
            ci_lines = [line.strip() for line in f if line.strip()]
        self.assertEqual(ci_lines[-1], test_command)


if __name__ == "__main__":
    tf.test.main()
