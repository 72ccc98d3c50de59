"""The project's promises about itself: the README's commands, a cheap import."""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _quick_start_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_quick_start_has_two_commands_and_ci_runs_the_test_one():
    commands = _quick_start_commands()
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines(), "the CI script must run the README's test command verbatim"


def test_import_is_cheap():
    # gradcnn.cuda is public and imported with gradcnn; it imports CuPy only when its functions run.
    code = "import sys, gradcnn; gradcnn.cuda.synchronize; print('numba' in sys.modules, 'cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_public_names_exist():
    import gradcnn
    import gradcnn.functional as F

    for name in gradcnn.__all__:
        assert hasattr(gradcnn, name), name
    for name in F.__all__:
        assert callable(getattr(F, name)), name


def _example(name):
    import importlib

    sys.path.insert(0, str(ROOT / "examples"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def test_mlp_example_trains():
    import pytest

    pytest.importorskip("sklearn")
    assert _example("train_digits_mlp").main(["--epochs", "8"]) > 0.85


def test_cnn_example_trains():
    import pytest

    pytest.importorskip("sklearn")
    assert _example("train_digits_cnn").main(["--epochs", "4"]) > 0.9


GPU_MARK = "# needs a CUDA device\n"


def _readme_blocks(gpu):
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    return [b for b in blocks if b.startswith(GPU_MARK) == gpu]


def test_readme_python_snippets_run():
    blocks = _readme_blocks(gpu=False)
    assert len(blocks) >= 3
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


@pytest.mark.gpu
def test_readme_gpu_snippets_run():
    blocks = _readme_blocks(gpu=True)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
