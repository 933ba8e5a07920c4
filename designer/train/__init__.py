"""Training a design: its data, its loop and the scripts that scale it out."""
