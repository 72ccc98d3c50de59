"""The one random generator behind every random op (``rand``, ``randn``, dropout, rrelu, init).

``manual_seed(s)`` makes results reproducible; ``get_rng_state()`` / ``set_rng_state()`` capture
and restore it as plain JSON-able data, so checkpoints can hold it without pickle.

Masks for tensors on a GPU (dropout, rrelu) are drawn there, by a CuPy generator per device
(:func:`device_generator`) seeded from this one: no host draw and no copy in a training step. The
device generator is re-seeded from the host one after every ``manual_seed`` and ``set_rng_state``,
so a seed makes a GPU run reproducible; it does not give the masks a CPU run draws.
"""

import numpy as np

from .errors import DeviceError, DTypeError

__all__ = ["manual_seed", "seed", "generator", "get_rng_state", "set_rng_state", "Generator",
           "numpy_generator_of", "initial_seed", "device_generator"]

_generator = np.random.default_rng()
_initial_seed = None
_generation = 0  # bumped when the host generator is re-seeded or restored
_device_generators = {}  # device id -> (generation it was seeded in, CuPy generator)


def manual_seed(seed):
    """Re-seed the generator; returns it."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise DTypeError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    global _initial_seed, _generation
    _generator = np.random.default_rng(int(seed))
    _initial_seed = int(seed)
    _generation += 1
    return _generator


def initial_seed():
    """The seed last given to :func:`manual_seed` (or drawn by :func:`seed`)."""
    return _initial_seed


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
    global _generation
    _generator.bit_generator.state = state
    _generation += 1


def device_generator(xp):
    """The generator of array module ``xp`` (CuPy) for its current device, seeded from the host
    generator the first time it is asked for after each ``manual_seed`` or ``set_rng_state``."""
    device = xp.cuda.runtime.getDevice()
    entry = _device_generators.get(device)
    if entry is None or entry[0] != _generation:
        entry = _device_generators[device] = (_generation, xp.random.default_rng(int(_generator.integers(2**63))))
    return entry[1]


class Generator:
    """A generator of its own, as ``torch.Generator``: pass it as ``generator=`` to random
    functions, samplers, ``random_split`` and ``DataLoader``. ``manual_seed`` returns it, so
    ``gradcnn.Generator().manual_seed(42)`` reads as in PyTorch. Its state is plain data."""

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise DeviceError(f"Generator: only 'cpu' generators exist (random numbers are drawn on the "
                              f"CPU for every device), got device={device!r}")
        self.device = device
        self._rng = np.random.default_rng()
        self._seed = None

    def manual_seed(self, seed):
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise DTypeError(f"Generator.manual_seed: seed must be an int, got {seed!r}")
        self._seed = int(seed) % (2**64)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self):
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state
        return self


def numpy_generator_of(gen):
    """The ``numpy.random.Generator`` behind ``gen`` (a :class:`Generator`, a NumPy generator, or
    ``None`` for the global one)."""
    if gen is None:
        return _generator
    if isinstance(gen, Generator):
        return gen._rng
    if isinstance(gen, np.random.Generator):
        return gen
    raise DTypeError(f"generator must be a gradcnn.Generator, got {type(gen).__name__}")
