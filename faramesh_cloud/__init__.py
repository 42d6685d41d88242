"""Faramesh Cloud: the organisational control plane next to Faramesh enforcement."""

__version__ = "0.1.0"
