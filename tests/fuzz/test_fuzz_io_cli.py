"""Fuzz table of checkpoints and the command line: gradcnn.load given things that are not paths or
not checkpoints, load_state_dict given non-dicts and values of the wrong shape or dtype, and the
``gradcnn`` command given bad arguments (a return code, one line on stderr, never a traceback)."""

import io
import os
import struct

import numpy as np
import pytest
from fuzz_harness import Case, check_case, describe, params
from fuzz_values import NAN, arr

import gradcnn
from gradcnn.errors import CheckpointError, DTypeError


def _files(tmp):
    """Files that are not gradcnn checkpoints, by name."""
    good = os.path.join(tmp, "good.safetensors")
    gradcnn.save({"w": gradcnn.tensor(arr(2))}, good)
    data = open(good, "rb").read()
    files = {
        "empty": b"", "three-bytes": b"abc", "pickle": b"\x80\x04\x95" + b"\x00" * 20 + b".",
        "zip": b"PK\x03\x04" + b"\x00" * 40, "huge-header": struct.pack("<Q", 2**40) + b"{}",
        "header-2GB": struct.pack("<Q", 2 * 10**9) + b"{" + b" " * 100,
        "header-not-json": struct.pack("<Q", 4) + b"abcd", "header-list": struct.pack("<Q", 2) + b"[]",
        "truncated": data[: len(data) // 2], "one-byte-less": data[:-1], "flipped-value": data[:-1] + bytes([data[-1] ^ 1]),
        "plain-safetensors": _plain_safetensors(), "text": b"hello world\n" * 10, "zeros": b"\x00" * 64,
    }
    paths = {}
    for name, content in files.items():
        path = os.path.join(tmp, f"{name}.safetensors")
        with open(path, "wb") as f:
            f.write(content)
        paths[name] = path
    paths["directory"] = tmp
    paths["missing"] = os.path.join(tmp, "missing.safetensors")
    paths["good"] = good
    return paths


def _plain_safetensors():
    from safetensors.numpy import save

    return save({"w": np.zeros(2, np.float32)})


FILE_NAMES = ["empty", "three-bytes", "pickle", "zip", "huge-header", "header-2GB", "header-not-json", "header-list",
              "truncated", "one-byte-less", "flipped-value", "plain-safetensors", "text", "zeros", "directory", "missing"]


def load_cases():
    cases = []
    for name in FILE_NAMES:
        def call(t, name=name, tmp_path=None):
            return gradcnn.load(_PATHS()[name])
        cases.append(Case(f"load-{name}", call, error=CheckpointError, match=f"{name}" if name != "directory" else "",
                          compare=False))
    for value in (None, 1, 1.5, [], ["a"], b"", "", object(), io.StringIO("x")):
        cases.append(Case(f"load-f={describe(value) if not isinstance(value, (object,)) or isinstance(value, (int, float, list, str, bytes)) else type(value).__name__}",
                          lambda t, value=value: gradcnn.load(value), error=TypeError, compare=False))
    for kw in ({"weights_only": False}, {"weights_only": "yes"}, {"map_location": 5}, {"map_location": "tpu"},
               {"map_location": {"cpu": "nowhere"}}, {"map_location": lambda s, loc: 1}, {"pickle_module": object()}):
        cases.append(Case(f"load-good-{describe(kw)}", lambda t, kw=kw: gradcnn.load(_PATHS()["good"], **kw),
                          compare=False, match=None))
    for value in (None, [1], {1: object()}, {"a": object()}, "abc", {"a": np.array(["x"])}, {"a": 1j},
                  {"a": np.zeros(2, complex)}, 5):
        cases.append(Case(f"save-obj={type(value).__name__}-{describe(value)[:20]}",
                          lambda t, value=value: gradcnn.save(value, os.path.join(_TMP[0], "out.safetensors")),
                          error=TypeError, compare=False))
    for target in (None, 1, [], "", os.devnull + "/x/y.safetensors"):
        cases.append(Case(f"save-f={describe(target)}", lambda t, target=target: gradcnn.save({"a": 1}, target),
                          compare=False))
    return cases


def state_dict_cases():
    def load_into(value, strict=True):
        def call(t):
            layer = t.nn.Linear(3, 2)
            return layer.load_state_dict(value(t) if callable(value) else value, strict=strict)
        return call
    good = {"weight": arr(2, 3), "bias": arr(2)}
    values = {
        "list": [], "none": None, "int": 1, "str": "weight", "tuple": (), "empty-dict": {},
        "wrong-shape": lambda t: {"weight": t.tensor(arr(3, 2)), "bias": t.tensor(arr(2))},
        "scalar-bias": lambda t: {"weight": t.tensor(arr(2, 3)), "bias": t.tensor(1.0)},
        "float64": lambda t: {"weight": t.tensor(arr(2, 3).astype(np.float64)), "bias": t.tensor(arr(2))},
        "int64": lambda t: {"weight": t.tensor(np.ones((2, 3), np.int64)), "bias": t.tensor(arr(2))},
        "bool": lambda t: {"weight": t.tensor(np.ones((2, 3), bool)), "bias": t.tensor(arr(2))},
        "missing-bias": lambda t: {"weight": t.tensor(arr(2, 3))},
        "extra-key": lambda t: {"weight": t.tensor(arr(2, 3)), "bias": t.tensor(arr(2)), "extra": t.tensor(arr(1))},
        "value-none": lambda t: {"weight": None, "bias": t.tensor(arr(2))},
        "value-list": lambda t: {"weight": [[0.0] * 3] * 2, "bias": t.tensor(arr(2))},
        "value-float": lambda t: {"weight": 1.0, "bias": t.tensor(arr(2))},
        "value-nan": lambda t: {"weight": t.tensor(np.full((2, 3), NAN, np.float32)), "bias": t.tensor(arr(2))},
        "key-int": lambda t: {0: t.tensor(arr(2, 3)), "bias": t.tensor(arr(2))},
        "good": lambda t: {k: t.tensor(v) for k, v in good.items()},
    }
    cases = []
    for name, value in values.items():
        cases.append(Case(f"load_state_dict-{name}", load_into(value)))
        if name in ("missing-bias", "extra-key", "wrong-shape"):
            cases.append(Case(f"load_state_dict-{name}-strict=False", load_into(value, strict=False)))
    for strict in ("yes", None, 0):
        cases.append(Case(f"load_state_dict-strict={describe(strict)}", load_into(values["good"], strict=strict)))
    cases.append(Case("load_state_dict-issue-[]", load_into([]), error=DTypeError, match="state_dict"))
    return cases


def cli(argv):
    """``gradcnn.cli.main(argv)``: its return code and what it wrote to stderr."""
    def call(t):
        import contextlib

        from gradcnn.cli import main

        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(argv)
        return code, err.getvalue()
    return call


def _one_line_error(result):
    code, err = result
    assert code in (1, 2), f"exit code {code}, stderr {err!r}"
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("gradcnn"), err
    assert len([line for line in lines if "error" in line]) == 1, err


def cli_cases():
    out_file = lambda: os.path.join(_TMP[0], "a-file.txt")  # noqa: E731
    argvs = {
        "no-command": [], "unknown-command": ["bogus"], "unknown-option": ["--bogus"],
        "train-epochs-neg": ["train", "--epochs", "-1"], "train-epochs-0": ["train", "--epochs", "0"],
        "train-epochs-str": ["train", "--epochs", "abc"], "train-epochs-float": ["train", "--epochs", "1.5"],
        "train-batch-0": ["train", "--batch-size", "0"], "train-batch-neg": ["train", "--batch-size", "-3"],
        "train-lr-nan": ["train", "--lr", "nan"], "train-lr-inf": ["train", "--lr", "inf"],
        "train-lr-neg": ["train", "--lr", "-0.1"], "train-lr-0": ["train", "--lr", "0"], "train-lr-str": ["train", "--lr", "x"],
        "train-seed-neg": ["train", "--seed", "-1"], "train-optimizer": ["train", "--optimizer", "lbfgs"],
        "train-model": ["train", "no-such-model", "--epochs", "1"], "train-dataset": ["train", "--dataset", "no-such"],
        "train-device-tpu": ["train", "--device", "tpu", "--epochs", "1"],
        "train-device-cuda99": ["train", "--device", "cuda:99", "--epochs", "1"],
        "train-nproc-0": ["train", "--nproc", "0"], "train-nproc-str": ["train", "--nproc", "x"],
        "eval-no-weights": ["eval", "lenet5"], "eval-missing-weights": ["eval", "lenet5", "--weights", "/nonexistent/w.safetensors"],
        "eval-batch-0": ["eval", "lenet5", "--weights", "x", "--batch-size", "0"],
        "summary-no-input": ["summary", "lenet5"], "summary-input-2d": ["summary", "lenet5", "--input", "32x32"],
        "summary-input-zero": ["summary", "lenet5", "--input", "0x32x32"], "summary-input-str": ["summary", "lenet5", "--input", "axbxc"],
        "summary-input-neg": ["summary", "lenet5", "--input", "1x-32x32"], "summary-input-huge": ["summary", "lenet5", "--input", "1x99999999x99999999"],
        "summary-input-tiny": ["summary", "lenet5", "--input", "1x2x2"], "summary-model": ["summary", "nope", "--input", "1x32x32"],
        "summary-classes-0": ["summary", "lenet5", "--input", "1x32x32", "--num-classes", "0"],
        "summary-classes-str": ["summary", "lenet5", "--input", "1x32x32", "--num-classes", "x"],
        "export-no-weights": ["export", "lenet5", "--input", "1x32x32"],
        "export-missing-weights": ["export", "lenet5", "--weights", "/nonexistent.safetensors", "--input", "1x32x32"],
        "export-opset-0": ["export", "lenet5", "--random-weights", "--input", "1x32x32", "--opset", "0"],
        "visualize-index-neg": ["visualize", "lenet5", "--index", "-1"], "visualize-index-str": ["visualize", "lenet5", "--index", "x"],
        "visualize-split": ["visualize", "lenet5", "--split", "val"], "visualize-model": ["visualize", "nope"],
        "run-nproc-0": ["run", "--nproc", "0", "script.py"], "run-timeout-neg": ["run", "--timeout", "-1", "script.py"],
        "run-no-script": ["run"], "check-plugin-missing": ["check-plugin", "no-such-plugin"],
    }
    cases = [Case(f"cli-{name}", cli(argv), check=_one_line_error, compare=False) for name, argv in argvs.items()]
    cases.append(Case("cli-train-out-is-a-file", lambda t: (open(out_file(), "w").close(), cli(
        ["train", "--out", out_file(), "--epochs", "1"])(t))[1], check=_one_line_error, compare=False))
    cases.append(Case("cli-eval-garbage-weights", lambda t: cli(["eval", "lenet5", "--weights", _PATHS()["text"]])(t),
                      check=_one_line_error, compare=False))
    cases.append(Case("cli-visualize-garbage-weights", lambda t: cli(
        ["visualize", "lenet5", "--weights", _PATHS()["pickle"], "--out", _TMP[0]])(t), check=_one_line_error, compare=False))
    for flag in ("--help", "--version"):
        cases.append(Case(f"cli{flag}", cli([flag]), check=lambda r: r[0] == 0, compare=False))
    return cases


_TMP = []


def _PATHS():  # noqa: N802  (made once per run, in the run's temporary directory)
    if not hasattr(_PATHS, "paths"):
        _PATHS.paths = _files(_TMP[0])
    return _PATHS.paths


@pytest.fixture(autouse=True, scope="module")
def _tmp(tmp_path_factory):
    _TMP.append(str(tmp_path_factory.mktemp("fuzz_io")))
    yield
    _TMP.clear()
    if hasattr(_PATHS, "paths"):
        del _PATHS.paths


CASES = load_cases() + state_dict_cases() + cli_cases()


@pytest.mark.parametrize("case", params(CASES))
def test_io_cli(case):
    check_case(case)
