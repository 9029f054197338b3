"""Wenming (文明): civilized-city campaign and grid-based urban governance platform."""

__version__ = "0.1.0"
