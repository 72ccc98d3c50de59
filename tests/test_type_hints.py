"""The public API of the engine, Tensor and Module is annotated, and the annotations resolve."""

import inspect
import typing

import pytest

import gradcnn
from gradcnn import nn
from gradcnn.autograd import tape

PUBLIC = [
    tape.grad, tape.backward, tape.register_hook, tape.register_post_accumulate_grad_hook, tape.is_grad_enabled,
    *[getattr(gradcnn.Tensor, n) for n in ("__init__", "backward", "detach", "numpy", "item", "tolist", "size",
                                           "numel", "dim", "register_hook", "retain_grad", "requires_grad_",
                                           "add_", "sub_", "mul_", "div_", "fill_", "zero_")],
    *[getattr(nn.Module, n) for n in ("parameters", "named_parameters", "buffers", "named_buffers", "modules",
                                      "named_modules", "children", "named_children", "train", "eval",
                                      "zero_grad", "apply", "state_dict", "load_state_dict", "register_buffer",
                                      "register_parameter", "add_module", "get_submodule", "requires_grad_")],
]


@pytest.mark.parametrize("fn", PUBLIC, ids=[f.__qualname__ for f in PUBLIC])
def test_public_functions_are_annotated_and_the_hints_resolve(fn):
    hints = typing.get_type_hints(fn)
    assert "return" in hints
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"
              and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    missing = [p.name for p in params if p.name not in hints]
    assert not missing, f"{fn.__qualname__}: no annotation for {missing}"
