"""Training code that is also copied verbatim into generated scripts: stdlib, torch, Pillow only."""
