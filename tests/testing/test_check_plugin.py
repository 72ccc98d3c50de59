"""check_plugin and `gradcnn check-plugin`: every layer a plugin registers, property-tested."""

import pytest
from plugin_dists import PluginDists

from gradcnn import cli

LAYERS = """
    import numpy as np
    import gradcnn
    from gradcnn import nn

    class Scale(nn.Module):
        check_layer_example = {"input_shape": (2, 3), "config": {"features": 3}}

        def __init__(self, features):
            super().__init__()
            self.weight = nn.Parameter(np.full(features, 0.5))

        def forward(self, x):
            return x * self.weight

    class BrokenScale(Scale):
        # forward uses a value state_dict cannot carry: the round trip check catches it
        check_layer_example = {"input_shape": (2, 3), "config": {"features": 3}}

        def __init__(self, features):
            super().__init__(features)
            self.hidden = float(gradcnn.rand(1).item()) + 1

        def forward(self, x):
            return x * self.weight * self.hidden

    class Untested(Scale):
        check_layer_example = None

    @gradcnn.hookimpl
    def register_layers(register):
        register("Scale", Scale)
        register("Untested", Untested)

    @gradcnn.hookimpl
    def register_architectures(register):
        register("broken-scale", BrokenScale)
"""


@pytest.fixture
def dists(tmp_path, monkeypatch):
    d = PluginDists(tmp_path, monkeypatch)
    d.install("scales", LAYERS)
    yield d
    d.close()


def test_check_plugin_reports_each_object(dists):
    from gradcnn.plugins import plugin_objects
    from gradcnn.testing.layers import check_objects

    lines = []
    passed, failed, missing = check_objects(plugin_objects("scales"), report=lines.append)
    assert passed == ["Scale"] and failed == ["broken-scale"] and missing == ["Untested"]
    assert any("broken-scale: FAILED" in line for line in lines)


def test_check_plugin_command_exit_codes(dists, capsys):
    assert cli.main(["check-plugin", "scales"]) == 1
    out = capsys.readouterr().out
    assert "1 passed, 1 failed, 1 without an example" in out


def test_objects_without_examples_fail_only_when_required(capsys):
    # the built-in layers carry no example: tests/nn/test_layers.py gives each its own strategies
    from gradcnn.default_plugins.layers import LAYERS

    assert cli.main(["check-plugin", "gradcnn.default_plugins.layers"]) == 0
    assert f"0 passed, 0 failed, {len(LAYERS)} without an example" in capsys.readouterr().out
    assert cli.main(["check-plugin", "gradcnn.default_plugins.layers", "--require-examples"]) == 1


def test_unknown_plugin(capsys):
    assert cli.main(["check-plugin", "nope"]) == 1
    assert "no plugin named 'nope'" in capsys.readouterr().err
