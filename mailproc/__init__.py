"""mailproc: an e-mail driven complaint-ticket processor for the K+ complaint process."""

__version__ = "0.1.0"
