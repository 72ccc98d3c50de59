"""The checks both backends share, and the shape of the backend packages around them."""

import ast
from pathlib import Path

import numpy as np
import pytest

from gradcnn.backends import cpu, cuda, guards
from gradcnn.errors import ShapeError

BACKENDS = Path(guards.__file__).resolve().parent

#: What ops may call on ``backend_of(x)``: every backend has all of it.
OPS_API = (
    "conv2d_forward",
    "conv2d_backward_data",
    "conv2d_backward_weight",
    "max_pool2d_forward",
    "max_pool2d_scatter",
    "max_pool2d_gather",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "relu_forward",
    "relu_backward",
    "batch_norm_forward",
    "batch_norm_backward",
    "sgd_step",
    "adam_step",
    "warmup",
)


@pytest.mark.parametrize(
    "ksize, stride, pads, in_hw, out_hw, expected",
    [
        ((1, 1), (1, 1), ((0, 0), (0, 0)), (5, 4), (5, 4), True),
        ([1, 1], [1, 1], [(0, 0), (0, 0)], [5, 4], (5, 4), True),  # lists as well as tuples
        ((1, 1), (1, 1), ((0, 0), (0, 0)), (5, 4), (6, 5), False),  # transposed, output_padding 1
        ((1, 1), (2, 1), ((0, 0), (0, 0)), (5, 4), (3, 4), False),
        ((1, 1), (1, 1), ((1, 0), (0, 0)), (5, 4), (6, 4), False),
        ((1, 3), (1, 1), ((0, 0), (1, 1)), (5, 4), (5, 4), False),
    ],
)
def test_pointwise_is_exactly_the_1x1_stride_1_unpadded_same_size_case(ksize, stride, pads, in_hw, out_hw, expected):
    assert guards.pointwise(ksize, stride, pads, in_hw, out_hw) is expected


def test_plane_positions_must_fit_int32():
    guards.check_plane_fits_int32("max_pool2d_forward", (2**16, 2**15 - 1))
    with pytest.raises(ShapeError, match=r"max_pool2d_forward: a plane of 65536x32768 = 2147483648 elements"):
        guards.check_plane_fits_int32("max_pool2d_forward", (2**16, 2**15))
    with pytest.raises(ValueError):  # ShapeError is a ValueError, as the check raised before
        guards.check_plane_fits_int32("max_pool2d_forward", (1, 2**31))


def test_add_bias_adds_per_channel_in_place():
    y = np.zeros((2, 3, 2, 2))
    assert guards.add_bias(y, np.array([1.0, 2.0, 3.0])) is y
    np.testing.assert_array_equal(y[1, :, 1, 0], [1.0, 2.0, 3.0])
    assert guards.add_bias(y, None) is y
    np.testing.assert_array_equal(y[0, :, 0, 1], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("name", OPS_API)
def test_both_backends_expose_every_kernel_function(name):
    for backend in (cpu, cuda):
        assert name in backend.__all__ and callable(getattr(backend, name)), f"{backend.__name__}.{name}"


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]


@pytest.mark.parametrize("package", ["cpu", "cuda"])
def test_backend_init_only_reexports(package):
    tree = ast.parse((BACKENDS / package / "__init__.py").read_text(encoding="utf-8"))
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Assign"}, kinds
    for node in tree.body:
        if isinstance(node, ast.Expr):
            assert node is tree.body[0] and isinstance(node.value, ast.Constant)  # the docstring
        if isinstance(node, ast.ImportFrom):
            assert node.level == 1, "the package re-exports its own modules only"
        if isinstance(node, ast.Assign):
            assert [t.id for t in node.targets] == ["__all__"]


@pytest.mark.parametrize("package, other", [("cpu", "cuda"), ("cuda", "cpu")])
def test_neither_backend_imports_the_other(package, other):
    for path in (BACKENDS / package).glob("*.py"):
        for node in _imports(path):
            names = [a.name for a in node.names]
            module = getattr(node, "module", None) or ""
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                assert module.split(".")[0] != other and not (module == "" and other in names), path.name
            assert f"gradcnn.backends.{other}" not in [module, *names], path.name


def test_guards_import_neither_numba_nor_cupy():
    for node in _imports(BACKENDS / "guards.py"):
        roots = [a.name.split(".")[0] for a in node.names] + [(getattr(node, "module", None) or "").split(".")[0]]
        assert not {"numba", "cupy"} & set(roots)
