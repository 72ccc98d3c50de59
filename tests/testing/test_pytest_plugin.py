"""The pytest plugin changes nothing in a project that does not ask for gradcnn's defaults."""

import os
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import os

    import pytest
    from hypothesis import settings


    def test_report():
        print("PROFILE", settings._current_profile, settings.default.max_examples)
        print("STRICT", os.environ.get("GRADCNN_STRICT_PLUGINS"))


    @pytest.mark.gpu
    def test_marked_gpu():
        print("GPU-TEST-RAN")
""")


def _run(tmp_path, ini, env_profile=None):
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + ini)
    env = {k: v for k, v in os.environ.items() if k not in ("GRADCNN_HYPOTHESIS_PROFILE", "GRADCNN_STRICT_PLUGINS")}
    if env_profile:
        env["GRADCNN_HYPOTHESIS_PROFILE"] = env_profile
    out = subprocess.run([sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    return out.stdout + out.stderr


def test_another_project_keeps_its_own_settings(tmp_path):
    out = _run(tmp_path, "")
    # Hypothesis's own choice: "default", or its built-in "ci" where it detects a CI service.
    assert "PROFILE default 100" in out or "PROFILE ci 100" in out, out
    assert "gradcnn-" not in out
    assert "STRICT None" in out
    assert "GPU-TEST-RAN" in out  # its gpu marker is its own business


def test_a_project_that_opts_in_gets_gradcnn_defaults(tmp_path):
    out = _run(tmp_path, "gradcnn_defaults = true\n")
    assert "PROFILE gradcnn-dev 10" in out, out
    assert "STRICT 1" in out


@pytest.mark.parametrize("name, shown", [("ci", "gradcnn-ci 25"), ("gradcnn-nightly", "gradcnn-nightly 500")])
def test_the_environment_variable_opts_in_and_picks_the_profile(tmp_path, name, shown):
    assert f"PROFILE {shown}" in _run(tmp_path, "", env_profile=name)
