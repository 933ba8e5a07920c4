"""The release, written once: the package metadata and every file the tool stamps read it here."""

__version__ = "0.1.0"
