"""Collectives that autograd can go through (``torch.distributed.nn``): :mod:`.functional`."""

from . import functional

__all__ = ["functional"]
