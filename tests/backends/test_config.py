"""Kernel cache placement: next to the package, else a user cache directory, else no cache."""

import pathlib
import subprocess
import sys

from gradcnn.backends import config


def test_cache_next_to_the_package_when_writable(monkeypatch):
    monkeypatch.delenv("GRADCNN_CACHE_DIR", raising=False)
    monkeypatch.delenv("GRADCNN_NUMBA_CACHE", raising=False)
    monkeypatch.setattr(config, "_writable_dir", lambda path: True)
    assert config.cache_dir().name == "__pycache__"


def test_read_only_package_falls_back_to_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("GRADCNN_CACHE_DIR", raising=False)
    monkeypatch.delenv("GRADCNN_NUMBA_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    real = config._writable_dir
    monkeypatch.setattr(config, "_writable_dir", lambda path: "__pycache__" not in path.parts and real(path))
    assert config.cache_dir() == tmp_path / "gradcnn" / "numba"


def test_nothing_writable_means_no_cache_not_an_error(monkeypatch):
    monkeypatch.delenv("GRADCNN_CACHE_DIR", raising=False)
    monkeypatch.delenv("GRADCNN_NUMBA_CACHE", raising=False)
    monkeypatch.setattr(config, "_writable_dir", lambda path: False)
    assert config.cache_dir() is None


def test_switches(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADCNN_NUMBA_CACHE", "0")
    assert config.cache_dir() is None
    monkeypatch.setenv("GRADCNN_NUMBA_CACHE", "1")
    monkeypatch.setenv("GRADCNN_CACHE_DIR", str(tmp_path / "kernels"))
    assert config.cache_dir() == tmp_path / "kernels"


def test_kernels_run_with_an_unwritable_cache_dir(tmp_path):
    # A cache directory that cannot be created (its parent is a file) must not break the kernels.
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = (
        "import gradcnn, gradcnn.functional as F\n"
        "y = F.max_pool2d(gradcnn.ones(1, 1, 4, 4), 2)\n"
        "print(y.shape)\n"
    )
    env = {"GRADCNN_CACHE_DIR": str(blocker / "cache"), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, cwd=pathlib.Path(__file__).parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(1, 1, 2, 2)"
