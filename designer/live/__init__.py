"""Building live torch modules from designs: the plan, the live model, weights."""

import designer.blocks  # noqa: F401  (registers the block types every design here needs)
