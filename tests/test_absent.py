"""gradcnn/absent.py: absent PyTorch names raise an AttributeError that says what to use, and
docs/porting.md lists every one of them."""

import importlib
import re
from pathlib import Path

import pytest

from gradcnn.absent import ABSENT

PORTING = (Path(__file__).resolve().parents[1] / "docs" / "porting.md").read_text(encoding="utf-8")
PREFIX = {"gradcnn": "torch.", "gradcnn.nn": "nn.", "gradcnn.functional": "F.", "gradcnn.nn.functional": "F.",
          "gradcnn.optim": "optim.", "gradcnn.optim.lr_scheduler": "lr_scheduler."}
CASES = [(module, name) for module, names in ABSENT.items() for name in names]


@pytest.mark.parametrize("module, name", CASES)
def test_an_absent_name_raises_attribute_error_with_the_way_out(module, name):
    mod = importlib.import_module(module)
    with pytest.raises(AttributeError, match=rf"PyTorch's {re.escape(name)} is not provided .*porting\.md"):
        getattr(mod, name)
    assert not hasattr(mod, name)


@pytest.mark.parametrize("module, name", CASES)
def test_docs_porting_lists_it(module, name):
    assert f"`{PREFIX[module]}{name}`" in PORTING


def test_an_unknown_name_is_a_plain_attribute_error():
    import gradcnn

    with pytest.raises(AttributeError, match=r"has no attribute 'no_such_thing'$"):
        _ = gradcnn.no_such_thing
