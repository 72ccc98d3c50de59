"""The one random generator behind every random op (``rand``, ``randn``, dropout, rrelu, init).

``manual_seed(s)`` makes results reproducible; ``get_rng_state()`` / ``set_rng_state()`` capture
and restore it as plain JSON-able data, so checkpoints can hold it without pickle.
"""

import numpy as np

__all__ = ["manual_seed", "seed", "generator", "get_rng_state", "set_rng_state"]

_generator = np.random.default_rng()


def manual_seed(seed):
    """Re-seed the generator; returns it."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        from .errors import DTypeError

        raise DTypeError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def seed():
    """Seed the generator from the operating system's entropy; returns the seed used."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s


def generator():
    """The ``numpy.random.Generator`` every gradcnn random op draws from."""
    return _generator


def get_rng_state():
    """The generator state as a dict of ints and strings (JSON-able)."""
    return _generator.bit_generator.state


def set_rng_state(state):
    """Restore a state returned by :func:`get_rng_state`."""
    _generator.bit_generator.state = state
