"""Throwaway plugin distributions for the plugin and command-line tests.

:meth:`PluginDists.install` writes a plugin module and a ``*.dist-info`` directory (``METADATA``
and an ``entry_points.txt`` with one entry point in the ``gradcnn`` group) into a fresh directory
on ``sys.path``: ``importlib.metadata`` then finds a real installed distribution, and gradcnn loads
it exactly as it would load one installed by pip.
"""

import importlib
import importlib.metadata
import sys
import textwrap

from gradcnn import plugins

ENVIRONMENT = ("GRADCNN_LOAD_PLUGINS", "GRADCNN_DISABLE_PLUGINS")
MACHINERY_BUILTINS = ("gradcnn.default_plugins.layers", "gradcnn.default_plugins.commands")


class PluginDists:
    def __init__(self, tmp_path, monkeypatch):
        self.root = tmp_path / "site"
        self.monkeypatch = monkeypatch
        self.modules = []
        self.paths = []  # where install() put distributions, in sys.path order
        for variable in ENVIRONMENT:
            monkeypatch.delenv(variable, raising=False)
        monkeypatch.setenv("GRADCNN_STRICT_PLUGINS", "1")
        # only the distributions installed here: plugins pip-installed in the environment
        # (plugins/gradcnn-text, say) would otherwise join every test's registries
        monkeypatch.setattr(importlib.metadata, "entry_points", self._entry_points)
        # The machinery is tested against the layer and command built-ins only: the built-in
        # architectures have their own tests, and the registries here stay small and exact.
        monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", MACHINERY_BUILTINS)
        plugins._reset()

    def _entry_points(self, **params):
        found = importlib.metadata.distributions(path=self.paths)
        return importlib.metadata.EntryPoints(ep for dist in found for ep in dist.entry_points.select(**params))

    def install(self, name, source, *, dist=None, version="1.0"):
        """Install distribution ``dist`` (default ``gradcnn-NAME``) whose entry point ``name`` is a
        module holding ``source``; returns the module's name (``sys.modules`` key once imported)."""
        module = f"gradcnn_test_plugin_{name}"
        dist = dist or f"gradcnn-{name}"
        where = self.root / name
        info = where / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (where / f"{module}.py").write_text(textwrap.dedent(source))
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[gradcnn]\n{name} = {module}\n")
        self.monkeypatch.syspath_prepend(str(where))  # also invalidates importlib's caches
        self.paths.insert(0, str(where))
        self.modules.append(module)
        return module

    def close(self):
        plugins._reset()
        for module in self.modules:
            sys.modules.pop(module, None)
        importlib.invalidate_caches()


GOOD = """
    import gradcnn

    class Swish:
        def __init__(self, beta=1.0):
            self.beta = beta

    def tiny_net(width=4):
        return ("tiny_net", width)

    @gradcnn.hookimpl
    def register_layers(register):
        register("Swish", Swish)

    @gradcnn.hookimpl
    def register_architectures(register):
        register("tiny_net", tiny_net)

    @gradcnn.hookimpl
    def register_datasets(register):
        register("ones", lambda n=3: [1] * n)
"""

EXPLODES_ON_IMPORT = """
    raise ImportError("this plugin needs the 'warp_drive' package")
"""
