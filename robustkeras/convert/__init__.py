"""PyTorch checkpoints into Keras, read with numpy only: no torch, and no pickle code ever run.

`from_torch(path, arch)` reads MadryLab `robustness` checkpoints, RobustBench
state dicts and safetensors files into the architectures of
`robustkeras.models.torch_layout`, and registers the weights in the user's
folder (`registry.folder()`) for `robustkeras.pretrained.load(name)`.
"""

from robustkeras.convert.from_torch import from_torch, read_checkpoint
from robustkeras.convert.registry import folder as registry_folder
from robustkeras.convert.safetensors_reader import load_safetensors
from robustkeras.convert.torch_pickle import RestrictedUnpickler, UnsafeCheckpointError, load_torch_file
from robustkeras.convert.weight_copy import copy_state_dict

__all__ = ["from_torch", "read_checkpoint", "load_torch_file", "load_safetensors", "RestrictedUnpickler",
           "UnsafeCheckpointError", "copy_state_dict", "registry_folder"]
