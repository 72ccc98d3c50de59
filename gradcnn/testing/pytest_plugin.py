"""The gradcnn pytest plugin (entry point ``pytest11``), installed with gradcnn.

Installing gradcnn changes no other project's test run. The plugin only *registers* things --
hypothesis profiles under gradcnn's own names (``gradcnn-ci``: 25 derandomized examples;
``gradcnn-dev``: 10, ``gradcnn-nightly``: 500; all with ``deadline=None``, since a kernel's first
call compiles it) and the ``gpu`` marker -- and acts only in a run that opts in, by setting
``gradcnn_defaults = true`` in its pytest configuration (gradcnn and its plugin distributions do)
or the environment variable ``GRADCNN_HYPOTHESIS_PROFILE``. In such a run:

* the profile ``GRADCNN_HYPOTHESIS_PROFILE`` names (``ci`` means ``gradcnn-ci``), else
  ``gradcnn-dev``, is loaded unless ``--hypothesis-profile`` was given;
* ``gpu``-marked tests are skipped, with the reason, when CuPy sees no CUDA device;
* plugins load strictly: ``GRADCNN_STRICT_PLUGINS`` defaults to ``1``, so a gradcnn plugin that
  fails to load or registers a clashing name fails the test that loads plugins instead of warning.
"""

import os

PROFILES = ("gradcnn-ci", "gradcnn-dev", "gradcnn-nightly")

try:  # hypothesis is a test extra: without it the plugin still registers the marker
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - exercised only where hypothesis is absent
    settings = None
else:
    _SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    settings.register_profile("gradcnn-ci", max_examples=25, deadline=None, derandomize=True,
                              suppress_health_check=_SLOW_OK, print_blob=True)
    settings.register_profile("gradcnn-dev", max_examples=10, deadline=None, suppress_health_check=_SLOW_OK)
    settings.register_profile("gradcnn-nightly", max_examples=500, deadline=None, suppress_health_check=_SLOW_OK)


def pytest_addoption(parser):
    parser.addini("gradcnn_defaults", "use gradcnn's hypothesis profiles, gpu skipping and strict plugins",
                  type="bool", default=False)


def _opted_in(config):
    return bool(config.getini("gradcnn_defaults")) or "GRADCNN_HYPOTHESIS_PROFILE" in os.environ


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA device; skipped when CuPy sees none")
    if not _opted_in(config):
        return
    os.environ.setdefault("GRADCNN_STRICT_PLUGINS", "1")
    if settings is None:
        return
    chosen = None
    try:
        chosen = config.getoption("hypothesis_profile")
    except ValueError:
        pass
    if not chosen:
        name = os.environ.get("GRADCNN_HYPOTHESIS_PROFILE", "dev")
        settings.load_profile(name if name.startswith("gradcnn-") or name not in ("ci", "dev", "nightly")
                              else f"gradcnn-{name}")


def _cuda_available():
    try:
        import cupy
    except ImportError:
        return False
    try:
        return bool(cupy.cuda.is_available())
    except Exception:  # a broken driver counts as no GPU
        return False


def pytest_collection_modifyitems(config, items):
    if not _opted_in(config):
        return
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items or _cuda_available():
        return
    import pytest

    skip = pytest.mark.skip(reason="needs a CUDA GPU: CuPy is missing or sees no device")
    for item in gpu_items:
        item.add_marker(skip)
