"""Running a design: forward passes, timing, memory checks."""

import designer.blocks  # noqa: F401  (registers the block types every design here needs)
