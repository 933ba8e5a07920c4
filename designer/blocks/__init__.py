"""Block types. Importing this package registers every built-in family and the library once."""

from designer.blocks import (  # noqa: F401
    activation,
    attention,
    conv,
    embedding,
    io,
    linear,
    merge,
    norm,
    pool,
    recurrent,
    regularization,
    resize,
    tensors,
    torch_call,
    window,
)
from designer.blocks.library import load_library
from designer.core.forms import Functional, TorchModule
from designer.core.registry import REGISTRY, BlockSpec, UnknownBlockError, register

load_library()

__all__ = ["REGISTRY", "BlockSpec", "Functional", "TorchModule", "UnknownBlockError", "register"]
