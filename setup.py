"""tfgan_fast: fast, stable class-conditional GAN training (TensorFlow 2 / Keras 3)."""

import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = sorted(name[:-3] for name in os.listdir(os.path.join(HERE, "tools"))
               if name.endswith(".py") and not name.startswith("_"))


def _requirements():
    with open(os.path.join(HERE, "requirements.txt"), encoding="utf-8") as f:
        return [line.split("#")[0].strip() for line in f
                if line.split("#")[0].strip()]


setup(
    name="tfgan_fast",
    version="0.1.0",
    description=("FastGAN (Zhong et al. 2020), SNGAN, RobGAN, SAGAN, R3GAN, FARGAN and LOGAN, "
                 "with DiffAugment, on one Keras 3 trainer"),
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # The repository's top-level gin/ and tools/ install as tfgan_fast.configs (so that a
    # wheel resolves `include 'base/...'`) and tfgan_fast.tools (`python -m tfgan_fast.tools.X`).
    packages=find_packages(include=["tfgan_fast", "tfgan_fast.*"]) + [
        "tfgan_fast.configs", "tfgan_fast.tools"],
    package_dir={"tfgan_fast.configs": "gin", "tfgan_fast.tools": "tools"},
    package_data={"tfgan_fast.export": ["explorer.html"],
                  "tfgan_fast.data": ["quickstart/*", "imagenet143_classes.txt"],
                  "tfgan_fast.eval": ["packaged/*.npz", "packaged/*.md",
                                      "packaged/fashion_mnist_classifier/*",
                                      "packaged/fashion_mnist_classifier/*/*"],
                  "tfgan_fast.configs": ["*.gin", "*/*.gin"]},
    include_package_data=True,
    install_requires=_requirements(),
    # matplotlib only draws tools/plot_curves.py's figures (axes, legend, IS bands: not worth
    # a renderer of our own); scipy is the tests' FID reference (scipy.linalg.sqrtm).
    # tensorflow-serving-api: the gRPC PredictRequest of tfgan_fast.export.serving (and its test).
    # tensorboard-plugin-profile: TensorBoard's Profile tab, to view `--profile_steps` traces.
    # tf2onnx + onnx: the ONNX export (TensorFlow itself converts to LiteRT). The tests run the
    # exports in independent runtimes: onnxruntime and ai-edge-litert (TF's own tf.lite
    # interpreter is deprecated). selenium drives Debian's chromium + chromium-driver in the
    # explorer's browser test (.ci/run installs them). pytest-xdist runs the suite in one
    # process per core: on 2 cores it takes two thirds of the serial time.
    extras_require={"test": ["pytest", "pytest-xdist", "scipy", "matplotlib>=3.5",
                             "tensorflow-serving-api",
                             "tf2onnx>=1.17", "onnx", "onnxruntime", "ai-edge-litert",
                             "selenium"],
                    "plot": ["matplotlib>=3.5"],
                    "profile": ["tensorboard-plugin-profile"],
                    "serving": ["tensorflow-serving-api"],
                    "onnx": ["tf2onnx>=1.17", "onnx"]},
    entry_points={"console_scripts": ["tfgan_fast_train=tfgan_fast.train:entry_point"] + [
        f"tfgan_fast_{tool}=tfgan_fast.tools.{tool}:entry_point" for tool in TOOLS]},
    license="Apache-2.0",
)
