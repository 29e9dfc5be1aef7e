"""Generator and discriminator networks and their building blocks.

`ResNetGenerator` and `ResNetDiscriminator` are registered with gin under those names via
`gin.external_configurable` (decorating a `keras.Model` subclass with `@gin.configurable`
breaks Keras 3 model creation).
"""
import gin

from tfgan_fast.nets.layers import ACHead
from tfgan_fast.nets.layers import ConditionalBatchNorm
from tfgan_fast.nets.layers import ConvAvgPool2D
from tfgan_fast.nets.layers import ProjectionHead
from tfgan_fast.nets.layers import ResBlockDown
from tfgan_fast.nets.layers import ResBlockUp
from tfgan_fast.nets.layers import SelfAttention
from tfgan_fast.nets.layers import FusedBatchNorm
from tfgan_fast.nets.layers import UpsampleConv2D
from tfgan_fast.nets.resnet import ResNetDiscriminator
from tfgan_fast.nets.resnet import ResNetGenerator
from tfgan_fast.nets.mlp import MLPDiscriminator
from tfgan_fast.nets.mlp import MLPGenerator
from tfgan_fast.nets.dcgan import DCGANDiscriminator
from tfgan_fast.nets.dcgan import DCGANGenerator
from tfgan_fast.nets.conventional import ConventionalDiscriminator
from tfgan_fast.nets.conventional import ConventionalGenerator
from tfgan_fast.nets.fargan_resnet import FARGANResBlock
from tfgan_fast.nets.fargan_resnet import FARGANResNetDiscriminator
from tfgan_fast.nets.fargan_resnet import FARGANResNetGenerator

gin.external_configurable(ResNetGenerator, name="ResNetGenerator")
gin.external_configurable(ResNetDiscriminator, name="ResNetDiscriminator")
# FARGAN (Tao & Wang 2020, App. D)
gin.external_configurable(MLPGenerator, name="MLPGenerator")
gin.external_configurable(MLPDiscriminator, name="MLPDiscriminator")
for _cls in (DCGANGenerator, DCGANDiscriminator, ConventionalGenerator, ConventionalDiscriminator,
             FARGANResNetGenerator, FARGANResNetDiscriminator):
    gin.external_configurable(_cls, name=_cls.__name__)

__all__ = [
    "ACHead",
    "ConditionalBatchNorm",
    "ConvAvgPool2D",
    "ProjectionHead",
    "ResBlockDown",
    "ResBlockUp",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "SelfAttention",
    "FusedBatchNorm",
    "UpsampleConv2D",
    "MLPGenerator",
    "MLPDiscriminator",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "ConventionalGenerator",
    "ConventionalDiscriminator",
    "FARGANResBlock",
    "FARGANResNetGenerator",
    "FARGANResNetDiscriminator",
]

# LOGAN (Wu et al. 2019): SN-GAN's standard CNN (Wu et al. 2019, §5.1) and BigGAN-deep-style
# networks (Wu et al. 2019, §5.2).
from tfgan_fast.nets.biggan import BigGANDeepDiscriminator  # noqa: E402
from tfgan_fast.nets.biggan import BigGANDeepGenerator  # noqa: E402
from tfgan_fast.nets.sngan_cnn import SNGANCNNDiscriminator  # noqa: E402
from tfgan_fast.nets.sngan_cnn import SNGANCNNGenerator  # noqa: E402

gin.external_configurable(BigGANDeepGenerator, name="BigGANDeepGenerator")
gin.external_configurable(BigGANDeepDiscriminator, name="BigGANDeepDiscriminator")
gin.external_configurable(SNGANCNNGenerator, name="SNGANCNNGenerator")
gin.external_configurable(SNGANCNNDiscriminator, name="SNGANCNNDiscriminator")

__all__ += ["BigGANDeepDiscriminator", "BigGANDeepGenerator", "SNGANCNNDiscriminator",
            "SNGANCNNGenerator"]
