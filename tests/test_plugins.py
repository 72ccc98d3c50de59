"""gradcnn/plugins.py: built-ins and installed distributions load through one path; failures are
reported by name and skipped (or raised in strict mode); the environment picks what loads."""

import subprocess
import sys
import threading

import pytest
from plugin_dists import EXPLODES_ON_IMPORT, GOOD, PluginDists

import gradcnn
from gradcnn import plugins
from gradcnn.default_plugins.layers import LAYERS
from gradcnn.errors import GradcnnError, PluginError, PluginWarning, UnknownNameError


@pytest.fixture(autouse=True)
def dists(tmp_path, monkeypatch):
    dists = PluginDists(tmp_path, monkeypatch)
    yield dists
    dists.close()


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.setenv("GRADCNN_STRICT_PLUGINS", "0")


def _record(name):
    return next(record for record in gradcnn.plugin_report() if record.name == name)


def test_import_gradcnn_loads_no_plugin_and_no_numba():
    code = "import sys, gradcnn; print('gradcnn.plugins' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_hookimpl_is_the_gradcnn_marker():
    assert gradcnn.hookimpl.project_name == "gradcnn"
    assert plugins.pm.project_name == "gradcnn"


def test_builtins_are_plugins_loaded_first_through_the_same_path():
    report = gradcnn.plugin_report()
    assert [record.name for record in report[:len(plugins.DEFAULT_PLUGINS)]] == list(plugins.DEFAULT_PLUGINS)
    for record in report[:len(plugins.DEFAULT_PLUGINS)]:
        assert (record.distribution, record.version, record.failure) == ("gradcnn", gradcnn.__version__, None)
        assert plugins.pm.get_plugin(record.name) is sys.modules[record.name]
    assert _record("gradcnn.default_plugins.commands").registered == {
        "commands": ["plugins", "layers", "models", "datasets", "check-plugin"]}


def test_builtin_layers_are_registered_under_their_class_names():
    try:
        from gradcnn import nn
    except ModuleNotFoundError:
        nn = None
    present = [name for name in LAYERS if hasattr(nn, name)]
    assert gradcnn.list_layers() == sorted(present)
    for name in present:
        assert plugins._lookup("layers", name, "test") is getattr(nn, name)
    if "Identity" in present:
        assert isinstance(gradcnn.create_layer("Identity"), nn.Identity)


def test_an_installed_plugin_registers_layers_models_and_datasets(dists):
    dists.install("good", GOOD, dist="gradcnn-good", version="2.5")
    assert "Swish" in gradcnn.list_layers()
    assert gradcnn.list_models() == ["tiny_net"]
    assert gradcnn.list_datasets() == ["ones"]
    assert gradcnn.create_layer("Swish", beta=2.0).beta == 2.0
    assert gradcnn.create_model("tiny_net", width=8) == ("tiny_net", 8)
    assert gradcnn.create_dataset("ones", n=2) == [1, 1]
    record = _record("good")
    assert (record.distribution, record.version, record.failure) == ("gradcnn-good", "2.5", None)
    assert record.registered == {"layers": ["Swish"], "architectures": ["tiny_net"], "datasets": ["ones"]}


def test_plugins_load_once_on_first_use(dists):
    module = dists.install("counted", """
        import gradcnn
        calls = 0

        @gradcnn.hookimpl
        def register_architectures(register):
            global calls
            calls += 1
            register("counted_net", dict)
    """)
    assert module not in sys.modules  # nothing loads before a registry is used
    gradcnn.list_layers()
    gradcnn.list_models()
    gradcnn.create_model("counted_net")
    gradcnn.plugin_report()
    assert sys.modules[module].calls == 1


def test_concurrent_first_uses_load_once(dists):
    module = dists.install("slow", """
        import time
        import gradcnn
        calls = 0

        @gradcnn.hookimpl
        def register_architectures(register):
            global calls
            calls += 1
            time.sleep(0.05)
            register("slow_net", dict)
    """)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(gradcnn.list_models())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [["slow_net"]] * 8
    assert sys.modules[module].calls == 1


def test_a_plugin_that_fails_to_import_is_named_and_skipped(dists, lenient):
    dists.install("good", GOOD)
    dists.install("broken", EXPLODES_ON_IMPORT, dist="gradcnn-broken", version="0.3")
    with pytest.warns(PluginWarning) as caught:
        models = gradcnn.list_models()
    assert models == ["tiny_net"]  # other plugins, and the built-ins, keep working
    assert "Swish" in gradcnn.list_layers()
    [warning] = caught
    message = str(warning.message)
    assert "'broken' (gradcnn-broken 0.3)" in message
    assert "ImportError: this plugin needs the 'warp_drive' package" in message
    record = _record("broken")
    assert record.failure == "ImportError: this plugin needs the 'warp_drive' package"
    assert record.registered == {}
    assert not plugins.pm.has_plugin("broken")
    assert all(record.failure is None for record in gradcnn.plugin_report() if record.name != "broken")


def test_a_hookimpl_with_an_unknown_argument_is_rejected(dists, lenient):
    dists.install("badargs", """
        import gradcnn

        @gradcnn.hookimpl
        def register_layers(register, device):
            register("NeverSeen", object)
    """)
    with pytest.warns(PluginWarning, match=r"'badargs' \(gradcnn-badargs 1.0\): PluginValidationError.*device"):
        layers = gradcnn.list_layers()
    assert "NeverSeen" not in layers
    assert not plugins.pm.has_plugin("badargs")
    assert plugins.pm.hook.register_layers.get_hookimpls()  # the built-in is still there


def test_a_hookimpl_with_a_misspelt_hook_name_is_rejected(dists, lenient):
    dists.install("typo", """
        import gradcnn

        @gradcnn.hookimpl
        def register_layer(register):
            register("NeverSeen", object)
    """)
    with pytest.warns(PluginWarning, match=r"'typo' .*unknown hook 'register_layer'"):
        gradcnn.list_layers()
    assert _record("typo").failure.startswith("PluginValidationError")


def test_a_clashing_name_names_both_owners_and_rolls_the_plugin_back(dists, lenient):
    dists.install("alpha", GOOD, dist="gradcnn-alpha", version="1.0")
    dists.install("beta", """
        import gradcnn

        @gradcnn.hookimpl
        def register_architectures(register):
            register("beta_net", dict)

        @gradcnn.hookimpl
        def register_layers(register):
            register("Swish", dict)
    """, dist="gradcnn-beta", version="0.2")
    with pytest.warns(PluginWarning) as caught:
        models = gradcnn.list_models()
    message = str(caught[0].message)
    assert "register_layers: plugin 'beta' (gradcnn-beta 0.2) registered 'Swish'" in message
    assert "plugin 'alpha' (gradcnn-alpha 1.0) already registered" in message
    assert models == ["tiny_net"]  # beta's model went with it
    assert gradcnn.create_layer("Swish").beta == 1.0  # alpha still owns the name
    assert _record("beta").registered == {}
    assert not plugins.pm.has_plugin("beta")


def test_a_name_taken_by_a_builtin_stays_with_the_builtin(dists, lenient):
    dists.install("usurper", """
        import gradcnn

        @gradcnn.hookimpl
        def register_commands(cli):
            cli.add_parser("plugins", help="not the real one")
    """)
    with pytest.warns(PluginWarning, match=r"'usurper' .*'plugins', which plugin "
                                           r"'gradcnn.default_plugins.commands' \(gradcnn "):
        report = gradcnn.plugin_report()
    assert report[1].registered["commands"][0] == "plugins"


def test_two_distributions_cannot_share_an_entry_point_name(dists):
    dists.install("twin", GOOD, dist="gradcnn-later")
    dists.root = dists.root / "earlier"
    dists.install("twin", GOOD, dist="gradcnn-earlier")  # earlier on sys.path: loads first
    with pytest.raises(PluginError, match=r"plugin 'twin' \(gradcnn-later 1.0\): PluginError: the plugin "
                                          r"name 'twin' is taken by plugin 'twin' \(gradcnn-earlier 1.0\)"):
        gradcnn.list_layers()


def test_registered_objects_must_be_callable_and_names_strings(dists, lenient):
    dists.install("sloppy", """
        import gradcnn

        @gradcnn.hookimpl
        def register_datasets(register):
            register("answer", 42)
    """)
    with pytest.warns(PluginWarning, match=r"registered 'answer' as 42 \(int\), which is not callable"):
        assert gradcnn.list_datasets() == []


def test_strict_mode_raises_plugin_error_and_tries_again_next_time(dists):
    dists.install("broken", EXPLODES_ON_IMPORT, dist="gradcnn-broken", version="0.3")
    for _ in range(2):
        with pytest.raises(PluginError, match=r"plugin 'broken' \(gradcnn-broken 0.3\): ImportError: "
                                              r"this plugin needs the 'warp_drive'") as raised:
            gradcnn.list_layers()
        assert isinstance(raised.value.__cause__, ImportError)


def test_strict_mode_raises_on_a_clash(dists):
    dists.install("alpha", GOOD)
    dists.install("beta", GOOD, dist="gradcnn-beta")
    with pytest.raises(PluginError, match="'beta' .*which plugin 'alpha' .*already registered"):
        gradcnn.list_layers()


def test_the_allowlist_loads_only_the_named_plugins(dists, monkeypatch):
    dists.install("good", GOOD)
    bomb = dists.install("bomb", EXPLODES_ON_IMPORT)  # strict mode: importing it would raise
    monkeypatch.setenv("GRADCNN_LOAD_PLUGINS", " good ,")
    assert gradcnn.list_models() == ["tiny_net"]
    assert bomb not in sys.modules
    assert _record("bomb").disabled == "not named in GRADCNN_LOAD_PLUGINS"


def test_an_empty_allowlist_loads_only_the_builtins(dists, monkeypatch):
    good = dists.install("good", GOOD)
    monkeypatch.setenv("GRADCNN_LOAD_PLUGINS", "")
    assert gradcnn.list_models() == []
    assert good not in sys.modules
    assert [r.name for r in gradcnn.plugin_report() if not r.disabled] == list(plugins.DEFAULT_PLUGINS)


def test_the_allowlist_warns_about_names_nothing_provides(dists, monkeypatch, lenient):
    dists.install("good", GOOD)
    monkeypatch.setenv("GRADCNN_LOAD_PLUGINS", "good,goood")
    with pytest.warns(PluginWarning, match=r"names 1 plugin\(s\) that no installed distribution provides: "
                                           r"goood \(entry points in group 'gradcnn': good\)"):
        assert gradcnn.list_models() == ["tiny_net"]


def test_the_blocklist_never_imports_the_named_plugins(dists, monkeypatch):
    dists.install("good", GOOD)
    bomb = dists.install("bomb", EXPLODES_ON_IMPORT)
    monkeypatch.setenv("GRADCNN_DISABLE_PLUGINS", "bomb")
    assert gradcnn.list_models() == ["tiny_net"]
    assert bomb not in sys.modules
    assert _record("bomb").disabled == "named in GRADCNN_DISABLE_PLUGINS"


def test_the_blocklist_cannot_disable_builtins(monkeypatch):
    monkeypatch.setenv("GRADCNN_DISABLE_PLUGINS", ",".join(plugins.DEFAULT_PLUGINS))
    assert [r.name for r in gradcnn.plugin_report()] == list(plugins.DEFAULT_PLUGINS)


def test_unknown_names_list_the_registered_ones_and_suggest_a_close_match(dists):
    dists.install("good", GOOD)
    with pytest.raises(UnknownNameError) as raised:
        gradcnn.create_model("Tiny_nett")
    assert isinstance(raised.value, KeyError) and isinstance(raised.value, GradcnnError)
    assert str(raised.value) == ("create_model: no model named 'Tiny_nett'; did you mean 'tiny_net'? "
                                 "The 1 registered: tiny_net")
    with pytest.raises(UnknownNameError, match=r"create_dataset: no dataset named 'mnist'\. The 1 "):
        gradcnn.create_dataset("mnist")


def test_an_empty_registry_says_so():
    with pytest.raises(UnknownNameError, match="create_model: no model named 'resnet18': no plugin "
                                               "registers any model"):
        gradcnn.create_model("resnet18")


def test_a_hook_that_uses_a_registry_while_loading_is_skipped(dists, lenient):
    dists.install("eager", """
        import gradcnn

        @gradcnn.hookimpl
        def register_architectures(register):
            for name in gradcnn.list_layers():
                register(name.lower(), dict)
    """)
    with pytest.warns(PluginWarning, match="'eager' .*used a gradcnn registry while plugins were still"):
        assert gradcnn.list_models() == []


def test_reset_forgets_everything_and_the_next_use_loads_again(dists):
    dists.install("good", GOOD)
    assert gradcnn.list_models() == ["tiny_net"]
    plugins._reset()
    assert plugins.pm.get_plugins() == set()
    assert plugins._records == [] and plugins._registry["architectures"] == {}
    assert gradcnn.list_models() == ["tiny_net"]
