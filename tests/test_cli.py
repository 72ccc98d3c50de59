"""gradcnn/cli.py: the ``gradcnn`` command, its built-in subcommands and plugins' subcommands."""

import json
import os
import re
import subprocess
import sys

import pytest
from plugin_dists import EXPLODES_ON_IMPORT, GOOD, PluginDists

import gradcnn
from gradcnn import plugins
from gradcnn.cli import main

HELLO = """
    import gradcnn

    @gradcnn.hookimpl
    def register_commands(cli):
        hello = cli.add_parser("hello", help="print a greeting", description="Print a greeting.")
        hello.add_argument("--name", default="world")
        hello.add_argument("--exit-code", type=int, default=0)
        hello.set_defaults(func=run)

    def run(args):
        if args.name == "error":
            raise gradcnn.errors.ShapeError("hello: --name 'error' is 5 letters, the limit is 4")
        print(f"hello {args.name}")
        return args.exit_code
"""


@pytest.fixture(autouse=True)
def dists(tmp_path, monkeypatch):
    dists = PluginDists(tmp_path, monkeypatch)
    yield dists
    dists.close()


def test_plugins_lists_each_plugin_its_version_and_what_it_registered(dists, capsys):
    dists.install("good", GOOD, dist="gradcnn-good", version="2.5")
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert f"gradcnn.default_plugins.commands  (gradcnn {gradcnn.__version__})\n" in out
    assert "  commands (5): plugins, layers, models, datasets, check-plugin\n" in out
    assert ("good  (gradcnn-good 2.5)\n  layers (1): Swish\n  architectures (1): tiny_net\n"
            "  datasets (1): ones\n") in out


def test_plugins_shows_failures_and_disabled_plugins(dists, capsys, monkeypatch):
    monkeypatch.setenv("GRADCNN_STRICT_PLUGINS", "0")
    monkeypatch.setenv("GRADCNN_DISABLE_PLUGINS", "good")
    dists.install("good", GOOD)
    dists.install("broken", EXPLODES_ON_IMPORT, dist="gradcnn-broken", version="0.3")
    with pytest.warns(gradcnn.errors.PluginWarning):
        assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert ("broken  (gradcnn-broken 0.3)\n"
            "  FAILED: ImportError: this plugin needs the 'warp_drive' package\n") in out
    assert "good  (gradcnn-good 1.0)\n  not loaded: named in GRADCNN_DISABLE_PLUGINS\n" in out


def test_plugins_json(dists, capsys):
    dists.install("good", GOOD, version="2.5")
    assert main(["plugins", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in report] == [*plugins.DEFAULT_PLUGINS, "good"]
    assert report[-1] == {"name": "good", "distribution": "gradcnn-good", "version": "2.5",
                          "registered": {"layers": ["Swish"], "architectures": ["tiny_net"],
                                         "datasets": ["ones"]},
                          "failure": None, "disabled": None}


def test_layers_models_and_datasets_print_one_name_a_line(dists, capsys):
    dists.install("good", GOOD)
    assert main(["models"]) == 0
    assert capsys.readouterr().out == "tiny_net\n"
    assert main(["datasets"]) == 0
    assert capsys.readouterr().out == "ones\n"
    assert main(["layers"]) == 0
    assert capsys.readouterr().out.splitlines() == gradcnn.list_layers()


def test_an_empty_listing_prints_nothing(dists, capsys):
    assert main(["models"]) == 0
    assert capsys.readouterr().out == ""


def test_a_plugin_adds_a_subcommand(dists, capsys):
    dists.install("hello", HELLO)
    assert main(["hello", "--name", "gradcnn"]) == 0
    assert capsys.readouterr().out == "hello gradcnn\n"
    assert main(["hello", "--exit-code", "3"]) == 3
    assert main(["--help"]) == 0
    assert re.search(r"hello +print a greeting", capsys.readouterr().out)
    assert main(["hello", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: gradcnn hello [-h] [--name NAME]") and "Print a greeting." in out
    assert plugins.plugin_report()[-1].registered == {"commands": ["hello"]}


def test_a_gradcnn_error_is_one_line_on_stderr_with_exit_code_1(dists, capsys):
    dists.install("hello", HELLO)
    assert main(["hello", "--name", "error"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "gradcnn: error: hello: --name 'error' is 5 letters, the limit is 4\n"
    assert captured.out == ""


def test_a_broken_plugin_in_strict_mode_is_one_line_on_stderr(dists, capsys):
    dists.install("broken", EXPLODES_ON_IMPORT, dist="gradcnn-broken", version="0.3")
    assert main(["layers"]) == 1
    assert capsys.readouterr().err == (
        "gradcnn: error: plugin 'broken' (gradcnn-broken 0.3): "
        "ImportError: this plugin needs the 'warp_drive' package\n")


def test_usage_errors_exit_2(capsys):
    assert main(["frobnicate"]) == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gradcnn")
    assert err.splitlines()[-1] == "gradcnn: error: a command is required (gradcnn --help lists them)"


HELLO_FAILS = HELLO.replace("""        if args.name == "error":""", """        if args.name == "os":
            open("/nonexistent/dir/out.txt", "w")
        if args.name == "advice":
            raise gradcnn.errors.DatasetError("hello: no data at /x\\nTo get them: copy them there")
        if args.name == "error":""")


@pytest.mark.parametrize("name, line", [
    ("os", "gradcnn: error: No such file or directory: '/nonexistent/dir/out.txt'"),
    ("advice", "gradcnn: error: hello: no data at /x To get them: copy them there"),
])
def test_an_os_error_or_a_message_of_several_lines_is_one_line(dists, capsys, name, line):
    dists.install("hello", HELLO_FAILS)
    assert main(["hello", "--name", name]) == 1
    assert capsys.readouterr().err == line + "\n"


def test_an_out_directory_that_is_a_file_is_one_line_with_exit_2(tmp_path, capsys):
    from gradcnn.cli import build_parser, writable_directory

    (tmp_path / "a-file").write_text("x")
    with pytest.raises(SystemExit) as info:
        writable_directory(build_parser(), str(tmp_path / "a-file"))
    assert info.value.code == 2
    assert capsys.readouterr().err == f"gradcnn: error: --out {tmp_path / 'a-file'}: is a file, not a directory\n"


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"gradcnn {gradcnn.__version__}\n"


def test_python_m_gradcnn_plugins():
    env = {**os.environ, "GRADCNN_STRICT_PLUGINS": "1"}
    out = subprocess.run([sys.executable, "-m", "gradcnn", "plugins"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    for name in plugins.DEFAULT_PLUGINS:
        assert f"{name}  (gradcnn {gradcnn.__version__})" in out.stdout
