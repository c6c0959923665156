"""OrderHub: one hub for every channel's orders."""

__version__ = "0.1.0"
