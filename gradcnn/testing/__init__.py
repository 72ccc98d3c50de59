"""Testing tools, public API for gradcnn's own tests and for plugin authors.

* :func:`gradcheck`, :func:`gradgradcheck`: gradients against finite differences, float64.
* :func:`op_test`: (op, NumPy reference, input strategy) -> a complete hypothesis property test.
* :func:`check_layer`: one call that property-tests a layer (gradients, state_dict, modes, ...).
* :mod:`.strategies`: ``arrays``, ``tensors``, ``floats`` and shape strategies.
* A pytest plugin (:mod:`.pytest_plugin`) with hypothesis profiles and the ``gpu`` marker.

Hypothesis is needed for the strategies and ``op_test``; ``gradcheck`` works without it.
"""

from .gradcheck import gradcheck, gradgradcheck

__all__ = ["gradcheck", "gradgradcheck", "op_test", "check_layer", "arrays", "tensors", "floats", "strategies"]


def __getattr__(name):
    # Hypothesis is a test dependency: load it only when these names are used.
    import importlib

    if name == "op_test":
        return importlib.import_module(f"{__name__}.factory").op_test
    if name == "check_layer":
        return importlib.import_module(f"{__name__}.layers").check_layer
    if name in ("arrays", "tensors", "floats", "strategies"):
        strategies = importlib.import_module(f"{__name__}.strategies")
        return strategies if name == "strategies" else getattr(strategies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
