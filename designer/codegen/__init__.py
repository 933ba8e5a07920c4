"""Code generation: standalone nn.Module source rendered through Jinja2 templates."""

import designer.blocks  # noqa: F401  (registers the block types every design here needs)
