"""Input pipelines: TFDS image sets, local Fashion-MNIST IDX files, the shipped quickstart subset.

Every source has `num_classes`, `image_shape` `(H, W, C)`, `name` and
`make(batch_size, seed=0, input_context=None, repeat=True, start_step=0)` returning a
`tf.data.Dataset` of `(images float32 [batch_size, H, W, C] in [-1, 1], labels int32
[batch_size])`, and `exact_resume`: True when the stream is a pure function of
`(seed, iteration)` (`data.stream`; every in-memory source), so that a run resumed at
`start_step` reads exactly the batches the uninterrupted run would have read.

Importing this package registers the gin configurables `TFDSImages`, `FashionMNIST`,
`QuickstartFashionMNIST`, `ImageFolder` (your own images in class sub-folders), `ImageNet` (TFDS
imagenet2012 and class subsets, with the gin function `imagenet143_class_ids`),
`SyntheticImages` (benchmarks) and `DataSpec` (a recorded shape, for tools that rebuild a
trained model without its data).
"""
from tfgan_fast.data.augment import random_flip_and_resized_crop
from tfgan_fast.data.base import DataError
from tfgan_fast.data.fashion_mnist import FashionMNIST
from tfgan_fast.data.fashion_mnist import QuickstartFashionMNIST
from tfgan_fast.data.idx import read_idx
from tfgan_fast.data.image_folder import ImageFolder
from tfgan_fast.data.idx import write_idx
from tfgan_fast.data.imagenet import ImageNet
from tfgan_fast.data.imagenet import imagenet143_class_ids
from tfgan_fast.data.spec import DataSpec
from tfgan_fast.data.synthetic import SyntheticImages
from tfgan_fast.data.synthetic2d import EightGaussians
from tfgan_fast.data.synthetic2d import FiniteGaussian
from tfgan_fast.data.synthetic2d import SwissRoll
from tfgan_fast.data.synthetic2d import TwentyFiveGaussians
from tfgan_fast.data.tfds_images import TFDSImages

__all__ = [
    "DataError",
    "DataSpec",
    "FashionMNIST",
    "ImageFolder",
    "ImageNet",
    "QuickstartFashionMNIST",
    "SyntheticImages",
    "TFDSImages",
    "imagenet143_class_ids",
    "random_flip_and_resized_crop",
    "read_idx",
    "write_idx",
    # 2-D synthetic sets (FARGAN, Tao & Wang 2020, §6.1)
    "EightGaussians",
    "FiniteGaussian",
    "SwissRoll",
    "TwentyFiveGaussians",
]
