"""gradcnn finds the installed distribution through its entry point, like any third-party plugin."""

import importlib.metadata
import json
import os
import subprocess
import sys

import gradcnn
from gradcnn import cli

from gradcnn_text import TextCNN


def test_the_entry_point_is_installed():
    (entry_point,) = [ep for ep in importlib.metadata.entry_points(group="gradcnn") if ep.name == "text"]
    assert entry_point.value == "gradcnn_text.plugin"
    assert entry_point.dist.name == "gradcnn-text"


def test_gradcnn_lists_and_builds_the_model_and_dataset():
    assert "textcnn" in gradcnn.list_models()
    assert "labelled-sentences" in gradcnn.list_datasets()
    model = gradcnn.create_model("textcnn", vocab_size=50)
    assert isinstance(model, TextCNN) and model.embedding.num_embeddings == 50
    (record,) = [r for r in gradcnn.plugin_report() if r.name == "text"]
    assert record.distribution == "gradcnn-text" and record.failure is None
    assert record.version == importlib.metadata.version("gradcnn-text")
    assert record.registered == {"architectures": ["textcnn"], "datasets": ["labelled-sentences"]}


def _gradcnn(*args, **env):
    switches = ("GRADCNN_LOAD_PLUGINS", "GRADCNN_DISABLE_PLUGINS")
    clean = {k: v for k, v in os.environ.items() if k not in switches}
    command = [sys.executable, "-m", "gradcnn", *args]
    env = {**clean, "GRADCNN_STRICT_PLUGINS": "1", **env}
    return subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout


def test_the_plugins_command_shows_it():
    report = {record["name"]: record for record in json.loads(_gradcnn("plugins", "--json"))}
    assert report["text"]["distribution"] == "gradcnn-text"
    assert report["text"]["registered"] == {"architectures": ["textcnn"], "datasets": ["labelled-sentences"]}
    assert "textcnn" in _gradcnn("models").split()


def test_it_can_be_disabled():
    assert "textcnn" not in _gradcnn("models", GRADCNN_DISABLE_PLUGINS="text").split()


def test_gradcnn_check_plugin_tests_the_model(capsys):
    assert cli.main(["check-plugin", "text", "--require-examples"]) == 0
    assert "architecture textcnn: ok" in capsys.readouterr().out
