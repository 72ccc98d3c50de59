"""The programs in tests/clients/ are PyTorch programs in the shape people write them (the MNIST
example, a textbook's chapters from ``corr2d`` to DenseNet, a TextCNN). Each runs twice as a script,
in its own process, its text unchanged: on PyTorch, and with ``torch`` bound to gradcnn by putting
``clients/_torch_is_gradcnn`` first on ``PYTHONPATH`` (its ``torch`` package replaces itself by
gradcnn and maps every ``torch.X.Y`` import to ``gradcnn.X.Y``; the processes a program starts,
such as DataLoader workers, inherit it). The gradcnn run must succeed; where torch is importable,
what the two runs print must agree. Both run with one thread per library: the two runs share the
cores with the rest of the suite, and oversubscribed BLAS and kernel threads made them slower, not
faster.

The programs make both runs start from the same numbers: data and initial weights come from
``np.random.default_rng`` and are copied in, shuffles are fixed NumPy permutations, and anything
drawn from the library's own generator (dropout masks, ``nn.init``) is either overwritten or
printed only as a statistic that does not depend on the draw.

Comparison, line by line: the text between numbers must be equal, after two representations that
differ on purpose are written one way (a shape prints as ``torch.Size([2, 3])`` in PyTorch and as a
tuple ``(2, 3)`` in gradcnn; a dtype as ``torch.float32`` and ``float32``). Integers must be equal
(counts, shapes, predicted classes). A number with a fraction ``a`` (printed with ``d`` decimals)
must be within ``RTOL * |a| + 10**-d`` of its twin: the second term is one unit in the last printed
place, since two values a rounding error apart can round to neighbouring printed numbers. RTOL is
1e-4: the two libraries sum in different orders (im2col + GEMM against oneDNN), so float32 results
differ by about 1e-7 relative per operation, and a few hundred optimizer steps grow that to ~1e-5
(the programs train a few epochs at learning rates that converge smoothly; a chaotic run would
amplify any rounding difference and could not be compared at any tolerance).
"""

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLIENTS = Path(__file__).parent / "clients"
PROGRAMS = sorted(p for p in CLIENTS.glob("*.py") if not p.name.startswith("_"))
ALIAS = CLIENTS / "_torch_is_gradcnn"
RTOL = 1e-4
TIMEOUT_S = 120
HAVE_TORCH = importlib.util.find_spec("torch") is not None

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w])|\b(?:nan|inf)\b")
SAME_TEXT = [
    (re.compile(r"torch\.Size\(\[([^\]]*)\]\)"), lambda m: f"({m.group(1)}{',' if m.group(1).count(',') == 0 and m.group(1) else ''})"),
    (re.compile(r"\btorch\.(float16|float32|float64|int8|int16|int32|int64|uint8|bool)\b"), r"\1"),
]


def _run(program, tmp_path, world):
    """The program's output (stdout) and its run time; ``world`` is ``"torch"`` or ``"gradcnn"``."""
    cwd = tmp_path / world
    cwd.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", GRADCNN_NUM_THREADS="1")
    if world == "gradcnn":
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ALIAS), os.environ.get("PYTHONPATH")]))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(program)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        pytest.fail(f"{program.name} failed on {world} (exit {done.returncode}):\n{done.stdout[-3000:]}\n"
                    f"{done.stderr[-6000:]}")
    return done.stdout, seconds


_GRADCNN_RUNS = {}


def _gradcnn_output(program, tmp_path_factory):
    """The gradcnn run of ``program``, once per test session (both tests of a program read it)."""
    if program not in _GRADCNN_RUNS:
        _GRADCNN_RUNS[program] = _run(program, tmp_path_factory.mktemp(program.stem), "gradcnn")
    return _GRADCNN_RUNS[program]


def _normalize(line):
    for pattern, replacement in SAME_TEXT:
        line = pattern.sub(replacement, line)
    return line


def _last_place(token):
    """One unit in the last printed place of ``token``: 0.001 for ``2.155``, 1e-10 for ``1.5e-09``."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def compare(ours, theirs, rtol=RTOL):
    """The first difference between two outputs as a sentence, or None when they agree."""
    ours, theirs = ours.splitlines(), theirs.splitlines()
    if len(ours) != len(theirs):
        return f"gradcnn printed {len(ours)} lines, torch {len(theirs)}"
    for number, (a_line, b_line) in enumerate(zip(ours, theirs), 1):
        a_line, b_line = _normalize(a_line), _normalize(b_line)
        a_text, b_text = NUMBER.split(a_line), NUMBER.split(b_line)
        a_nums, b_nums = NUMBER.findall(a_line), NUMBER.findall(b_line)
        where = f"line {number}:\n  gradcnn: {a_line}\n  torch:   {b_line}"
        if a_text != b_text or len(a_nums) != len(b_nums):
            return f"the text differs on {where}"
        for a, b in zip(a_nums, b_nums):
            if re.fullmatch(r"[-+]?\d+", a) and re.fullmatch(r"[-+]?\d+", b):
                if int(a) != int(b):
                    return f"the integers {a} and {b} differ on {where}"
                continue
            x, y = float(a), float(b)
            if x != x or y != y:  # NaN
                if not (x != x and y != y):
                    return f"{a} and {b} differ on {where}"
                continue
            slack = rtol * max(abs(x), abs(y)) + max(_last_place(a), _last_place(b))
            if abs(x - y) > slack:
                return f"{a} and {b} differ by {abs(x - y):.3g} (allowed {slack:.3g}) on {where}"
    return None


ids = [p.stem for p in PROGRAMS]


def test_there_are_programs_to_run():
    assert len(PROGRAMS) >= 12, [p.name for p in PROGRAMS]


@pytest.mark.parametrize("program", PROGRAMS, ids=ids)
def test_program_runs_on_gradcnn(program, tmp_path_factory):
    output, seconds = _gradcnn_output(program, tmp_path_factory)
    assert output.strip(), f"{program.name} printed nothing"
    assert seconds < 60, f"{program.name} took {seconds:.1f} s on gradcnn"


@pytest.mark.skipif(not HAVE_TORCH, reason="torch is not importable: the programs ran on gradcnn only")
@pytest.mark.parametrize("program", PROGRAMS, ids=ids)
def test_program_prints_what_it_prints_on_torch(program, tmp_path_factory):
    ours, _ = _gradcnn_output(program, tmp_path_factory)
    theirs, _ = _run(program, tmp_path_factory.mktemp(program.stem), "torch")
    difference = compare(ours, theirs)
    assert difference is None, f"{program.name}: {difference}"


def test_the_alias_binds_torch_and_its_submodules_to_gradcnn(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\n"
        "import gradcnn\n"
        "import torch\n"
        "import torch.nn as nn\n"
        "import torch.nn.functional as F\n"
        "from torch import optim\n"
        "from torch.optim.lr_scheduler import StepLR\n"
        "from torch.utils.data import DataLoader\n"
        "print(torch is gradcnn, nn is gradcnn.nn, F is gradcnn.nn.functional, optim is gradcnn.optim,\n"
        "      StepLR is gradcnn.optim.lr_scheduler.StepLR, DataLoader is gradcnn.utils.data.DataLoader,\n"
        "      sys.modules['torch.optim.lr_scheduler'] is gradcnn.optim.lr_scheduler)\n"
        "try:\n"
        "    import torch.no_such_module\n"
        "except ModuleNotFoundError as error:\n"
        "    print(error.name)\n")
    output, _ = _run(probe, tmp_path, "gradcnn")
    assert output.split() == ["True"] * 7 + ["torch.no_such_module"]


# The comparison itself.

def test_numbers_agree_within_the_tolerance_and_one_unit_in_the_last_place():
    assert compare("loss 2.155060", "loss 2.155059") is None
    assert compare("loss 0.5000", "loss 0.5001") is None  # rounding neighbours
    assert compare("loss 0.5000", "loss 0.5003") is not None
    assert compare("loss 1234.5", "loss 1234.6") is None
    assert compare("x 1.5e-08", "x 1.50001e-08") is None
    assert compare("x 1.5e-08", "x 1.7e-08") is not None


def test_integers_and_text_must_be_equal():
    assert compare("Accuracy: 118/200", "Accuracy: 118/200") is None
    assert "integers" in compare("Accuracy: 118/200", "Accuracy: 117/200")
    assert "text" in compare("epoch 1 loss 0.1", "epoch 1 lost 0.1")
    assert "lines" in compare("a\nb", "a")
    assert compare("nan", "nan") is None
    assert compare("nan", "0.5") is not None


def test_shapes_and_dtypes_print_as_tuples_and_plain_names():
    assert compare("shape (2, 3) float32", "shape torch.Size([2, 3]) torch.float32") is None
    assert compare("shape (2,)", "shape torch.Size([2])") is None
    assert compare("shape ()", "shape torch.Size([])") is None
    assert compare("conv1.weight", "conv1.weight") is None
