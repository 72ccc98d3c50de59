"""The gradcnn pytest plugin (entry point ``pytest11``), active wherever gradcnn is installed.

* Hypothesis profiles: ``ci`` (25 derandomized examples: reproducible runs), ``dev`` (10 examples,
  the default), ``nightly`` (500). All set ``deadline=None``: a kernel's first call compiles it.
  Pick one with ``--hypothesis-profile NAME`` or ``GRADCNN_HYPOTHESIS_PROFILE=NAME``.
* The ``gpu`` marker: such tests are skipped, with the reason, when CuPy sees no CUDA device.
* Plugins load strictly: ``GRADCNN_STRICT_PLUGINS`` defaults to ``1``, so a gradcnn plugin that
  fails to load or registers a clashing name fails the test that loads plugins
  (``gradcnn.errors.PluginError``) instead of warning. Set ``GRADCNN_STRICT_PLUGINS=0`` to get the
  warnings back.
"""

import os

try:  # hypothesis is a test extra: without it the plugin still registers the marker
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - exercised only where hypothesis is absent
    settings = None
else:
    _SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                              suppress_health_check=_SLOW_OK, print_blob=True)
    settings.register_profile("dev", max_examples=10, deadline=None, suppress_health_check=_SLOW_OK)
    settings.register_profile("nightly", max_examples=500, deadline=None, suppress_health_check=_SLOW_OK)


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA device; skipped when CuPy sees none")
    os.environ.setdefault("GRADCNN_STRICT_PLUGINS", "1")
    if settings is None:
        return
    chosen = None
    try:
        chosen = config.getoption("hypothesis_profile")
    except ValueError:
        pass
    if not chosen:
        settings.load_profile(os.environ.get("GRADCNN_HYPOTHESIS_PROFILE", "dev"))


def _cuda_available():
    try:
        import cupy
    except ImportError:
        return False
    try:
        return bool(cupy.cuda.is_available())
    except Exception:  # a broken driver counts as no GPU
        return False


def pytest_collection_modifyitems(config, items):  # noqa: ARG001 (pytest passes hook arguments by name)
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items or _cuda_available():
        return
    import pytest

    skip = pytest.mark.skip(reason="needs a CUDA GPU: CuPy is missing or sees no device")
    for item in gpu_items:
        item.add_marker(skip)
