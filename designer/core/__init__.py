"""The core: designs as graphs, tensor shapes, parameters, validation, cost and files (no torch)."""
