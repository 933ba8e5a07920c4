"""Block types. Importing this package registers every built-in family exactly once."""

from designer.blocks import activation, conv, io, linear, merge, norm, pool, resize  # noqa: F401
from designer.blocks.registry import (
    REGISTRY,
    BlockSpec,
    Functional,
    TorchModule,
    UnknownBlockError,
    register,
)

__all__ = ["REGISTRY", "BlockSpec", "Functional", "TorchModule", "UnknownBlockError", "register"]
