"""openbss: an open-source OSS/BSS billing platform."""

__version__ = "0.1.0"
