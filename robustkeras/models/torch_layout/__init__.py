"""Architectures in PyTorch's layouts (torchvision, RobustBench), named so PyTorch state dicts copy 1:1.

Each layer is named after its PyTorch module (`layer1.0.conv1`), inputs are in
[0, 1] with the normalisation inside the model, and the outputs are logits.
`robustkeras.convert.from_torch` fills them from PyTorch checkpoints.
"""

from robustkeras.models.torch_layout.layers import IMAGENET_MEAN, IMAGENET_STD
from robustkeras.models.torch_layout.preact_resnet import preact_resnet18
from robustkeras.models.torch_layout.resnet_imagenet import resnet18_imagenet, resnet50_imagenet
from robustkeras.models.torch_layout.wide_resnet import wide_resnet, wide_resnet28_10, wide_resnet34_10

TORCH_ARCHITECTURES = {
    "resnet18_imagenet": resnet18_imagenet,
    "resnet50_imagenet": resnet50_imagenet,
    "preact_resnet18": preact_resnet18,
    "wide_resnet28_10": wide_resnet28_10,
    "wide_resnet34_10": wide_resnet34_10,
}

__all__ = ["TORCH_ARCHITECTURES", "resnet18_imagenet", "resnet50_imagenet", "preact_resnet18", "wide_resnet",
           "wide_resnet28_10", "wide_resnet34_10", "IMAGENET_MEAN", "IMAGENET_STD"]
