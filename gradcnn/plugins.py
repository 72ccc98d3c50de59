"""Plugin loading, and the registries of layers, model architectures, datasets and commands.

The first use of a registry (``gradcnn.list_layers()``, ``gradcnn.create_model(...)``, the
``gradcnn`` command) loads, once per process and under a lock:

1. the built-in plugins, ``DEFAULT_PLUGINS`` (modules in ``gradcnn/default_plugins/``), then
2. the entry points of the group ``gradcnn`` that installed distributions declare, sorted by name
   (``sys.path`` order among equal names),

all through one function, :func:`_load`: import, ``pm.register``, then the plugin's ``register_*``
hooks (``gradcnn.hookspecs``), called for that plugin alone so that every name has a known owner.
The first plugin to register a name owns it.

A plugin that fails to import, whose hookimpls do not match the hookspecs, whose hook raises, or
that registers a name another plugin owns is skipped: what it registered is rolled back and a
:class:`~gradcnn.errors.PluginWarning` names its entry point, distribution and the exception. With
``GRADCNN_STRICT_PLUGINS=1`` (the gradcnn pytest plugin sets it) that is a
:class:`~gradcnn.errors.PluginError` instead. Built-ins keep working either way.

Environment, read when plugins load (built-ins always load):

* ``GRADCNN_LOAD_PLUGINS=a,b``: load only the entry points named ``a`` and ``b``; set but empty,
  load no third-party plugin.
* ``GRADCNN_DISABLE_PLUGINS=a,b``: never import the entry points named ``a`` and ``b``.

``gradcnn plugins`` prints :func:`plugin_report`.
"""

import argparse
import dataclasses
import difflib
import importlib.metadata
import os
import threading
import warnings

import pluggy

from . import hookspecs
from .errors import PluginError, PluginWarning, UnknownNameError
from .version import __version__

__all__ = [
    "DEFAULT_PLUGINS", "PluginRecord", "add_commands", "create_dataset", "create_layer",
    "create_model", "list_datasets", "list_layers", "list_models", "plugin_report", "pm",
]

DEFAULT_PLUGINS = (
    "gradcnn.default_plugins.layers",
    "gradcnn.default_plugins.commands",
    "gradcnn.default_plugins.architectures",
    "gradcnn.default_plugins.summary_command",
    "gradcnn.default_plugins.export_command",
    "gradcnn.default_plugins.architectures_cnn",
    "gradcnn.default_plugins.architectures_inception",
    "gradcnn.default_plugins.datasets",
    "gradcnn.default_plugins.train_command",
    "gradcnn.default_plugins.run_command",
    "gradcnn.default_plugins.visualize_command",
)
ENTRY_POINT_GROUP = "gradcnn"
KINDS = ("layers", "architectures", "datasets", "commands")
_NOUNS = {"layers": "layer", "architectures": "model", "datasets": "dataset"}

pm = pluggy.PluginManager("gradcnn")
pm.add_hookspecs(hookspecs)


@dataclasses.dataclass
class PluginRecord:
    """One plugin as ``gradcnn plugins`` shows it."""

    name: str  # the entry point's name; a built-in's module name
    distribution: str
    version: str
    registered: dict = dataclasses.field(default_factory=dict)  # kind -> names, in order
    failure: str | None = None  # why it was skipped
    disabled: str | None = None  # why it was not imported (GRADCNN_LOAD/DISABLE_PLUGINS)

    def __str__(self):
        return f"{self.name!r} ({self.distribution} {self.version})"


_lock = threading.RLock()
_state = "unloaded"  # -> "loading" -> "loaded"
_records = []
_registry = {kind: {} for kind in KINDS}  # kind -> name -> (object, PluginRecord)


def _ensure_loaded():
    global _state
    if _state == "loaded":
        return
    with _lock:
        if _state == "loading":  # re-entered from a hook on this thread
            raise PluginError("a plugin's register_* hook used a gradcnn registry while plugins were "
                              "still loading; look names up when the registered object is used instead")
        if _state == "loaded":
            return
        _state = "loading"
        try:
            _load_all()
        except BaseException:
            _clear()  # strict mode: the next use tries again and raises again
            raise
        _state = "loaded"


def _load_all():
    for module in DEFAULT_PLUGINS:
        entry_point = importlib.metadata.EntryPoint(name=module, value=module, group=ENTRY_POINT_GROUP)
        _load(entry_point, PluginRecord(module, "gradcnn", __version__))
    allowed = _names_in("GRADCNN_LOAD_PLUGINS")
    blocked = _names_in("GRADCNN_DISABLE_PLUGINS") or set()
    entry_points = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    for entry_point in entry_points:
        dist = entry_point.dist
        record = PluginRecord(entry_point.name, dist.name if dist else "unknown distribution",
                              dist.version if dist else "unknown version")
        if allowed is not None and entry_point.name not in allowed:
            record.disabled = "not named in GRADCNN_LOAD_PLUGINS"
        elif entry_point.name in blocked:
            record.disabled = "named in GRADCNN_DISABLE_PLUGINS"
        if record.disabled:  # checked before ep.load(): a disabled plugin is never imported
            _records.append(record)
        else:
            _load(entry_point, record)
    missing = sorted((allowed or set()) - {ep.name for ep in entry_points})
    if missing:
        found = ", ".join(sorted(ep.name for ep in entry_points)) or "none"
        _fail(f"GRADCNN_LOAD_PLUGINS names {len(missing)} plugin(s) that no installed distribution "
              f"provides: {', '.join(missing)} (entry points in group {ENTRY_POINT_GROUP!r}: {found})")


def _load(entry_point, record):
    """Import one plugin, register it, run its register_* hooks; on any failure undo all of it."""
    _records.append(record)
    plugin = None
    try:
        if pm.has_plugin(entry_point.name):
            owner = next((r for r in _records if r.name == entry_point.name and r is not record), None)
            raise PluginError(f"the plugin name {entry_point.name!r} is taken by "
                              f"{f'plugin {owner}' if owner else 'another plugin'}")
        plugin = entry_point.load()
        pm.register(plugin, name=entry_point.name)
        pm.check_pending()  # a hookimpl whose name is no hookspec (a typo) is an error, not a no-op
        others = [p for p in pm.get_plugins() if p is not plugin]
        for kind in KINDS:
            hook = pm.subset_hook_caller(f"register_{kind}", remove_plugins=others)
            register = _registrar(kind, record)
            if kind == "commands":
                hook(cli=_Commands(register))
            else:
                hook(register=register)
    except Exception as exc:
        for kind, names in record.registered.items():
            for name in names:
                del _registry[kind][name]
        record.registered = {}
        if plugin is not None and pm.get_plugin(entry_point.name) is plugin:
            pm.unregister(plugin)  # also after a partial pm.register that raised
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        record.failure = f"{type(exc).__name__}: {'; '.join(lines)}"  # one line (pluggy's span several)
        _fail(f"plugin {record}: {record.failure}", exc)


def _registrar(kind, record):
    hook = f"register_{kind}"

    def register(name, obj):
        if not isinstance(name, str) or not name:
            raise PluginError(f"{hook}: plugin {record} registered the name {name!r} "
                              f"({type(name).__name__}); a name is a non-empty string")
        if not callable(obj):
            raise PluginError(f"{hook}: plugin {record} registered {name!r} as {obj!r} "
                              f"({type(obj).__name__}), which is not callable")
        if name in _registry[kind]:
            owner = _registry[kind][name][1]
            raise PluginError(f"{hook}: plugin {record} registered {name!r}, which plugin {owner} "
                              f"already registered")
        _registry[kind][name] = (obj, record)
        record.registered.setdefault(kind, []).append(name)

    return register


class _Commands:
    """The ``cli`` that ``register_commands(cli)`` receives (see ``gradcnn.hookspecs``).

    Plugins load before the ``gradcnn`` command builds its parser, so ``add_parser`` hands out a
    stand-alone parser and registers a function that later copies it into the real subparsers
    (argparse's ``parents=``), keeping commands in the same registry, with owners, as the rest.
    """

    def __init__(self, register):
        self._register = register

    def add_parser(self, name, **kwargs):
        """Like argparse's ``subparsers.add_parser(name, help=..., **kwargs)``."""
        options = {key: value for key, value in kwargs.items() if key not in ("help", "aliases")}
        options.setdefault("prog", f"gradcnn {name}")  # its type errors name the command
        staged = argparse.ArgumentParser(add_help=False, **options)
        self._register(name, lambda subparsers: subparsers.add_parser(name, parents=[staged], **kwargs))
        return staged


def _fail(message, cause=None):
    if os.environ.get("GRADCNN_STRICT_PLUGINS", "").strip().lower() in ("1", "true", "yes", "on"):
        raise PluginError(message) from cause
    warnings.warn(f"{message} (skipped; GRADCNN_STRICT_PLUGINS=1 makes this an error)", PluginWarning,
                  stacklevel=2)


def _names_in(variable):
    value = os.environ.get(variable)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _clear():
    global _state
    for plugin in pm.get_plugins():
        pm.unregister(plugin)
    for registry in _registry.values():
        registry.clear()
    _records.clear()
    _state = "unloaded"


def _reset():
    """Forget every plugin and registration; the next use of a registry loads them again (tests)."""
    with _lock:
        _clear()


def _names(kind):
    _ensure_loaded()
    return sorted(_registry[kind])


def _lookup(kind, name, caller):
    _ensure_loaded()
    if name in _registry[kind]:
        return _registry[kind][name][0]
    noun = _NOUNS[kind]
    names = sorted(_registry[kind])
    if not names:
        raise UnknownNameError(f"{caller}: no {noun} named {name!r}: no plugin registers any {noun} "
                               f"(`gradcnn plugins` shows what loaded and what failed)")
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(str(name).lower(), lowered, n=1)
    hint = f"; did you mean {lowered[close[0]]!r}?" if close else "."
    raise UnknownNameError(f"{caller}: no {noun} named {name!r}{hint} "
                           f"The {len(names)} registered: {', '.join(names)}")


def list_layers():
    """Names of the registered layers, sorted (built-ins under their class names: ``"Conv2d"``)."""
    return _names("layers")


def create_layer(name, **config):
    """Build the layer registered as ``name``: ``gradcnn.create_layer("Conv2d", in_channels=3,
    out_channels=8, kernel_size=3)``. Raises :class:`~gradcnn.errors.UnknownNameError` (a
    ``KeyError``) listing the registered names for an unknown one."""
    return _lookup("layers", name, "create_layer")(**config)


def list_models():
    """Names of the registered model architectures, sorted."""
    return _names("architectures")


def create_model(name, **config):
    """Build the model architecture registered as ``name`` with ``config`` as keyword arguments.
    Raises :class:`~gradcnn.errors.UnknownNameError` for an unknown name."""
    return _lookup("architectures", name, "create_model")(**config)


def list_datasets():
    """Names of the registered datasets, sorted."""
    return _names("datasets")


def create_dataset(name, **config):
    """Build the dataset registered as ``name`` with ``config`` as keyword arguments.
    Raises :class:`~gradcnn.errors.UnknownNameError` for an unknown name."""
    return _lookup("datasets", name, "create_dataset")(**config)


def plugin_report():
    """A :class:`PluginRecord` per plugin, built-ins first: name, distribution, version, what it
    registered, and why it failed or was not loaded."""
    _ensure_loaded()
    return list(_records)


def plugin_objects(plugin):
    """``[(kind, name, obj)]``: the layers and architectures that ``plugin`` (an entry-point or
    built-in plugin name, as ``gradcnn plugins`` shows it) registered."""
    records = {r.name: r for r in plugin_report()}
    if plugin not in records:
        raise UnknownNameError(f"plugin_objects: no plugin named {plugin!r}; the plugins are {sorted(records)}")
    record = records[plugin]
    if record.failure:
        raise UnknownNameError(f"plugin_objects: plugin {plugin!r} failed to load: {record.failure}")
    return [(kind, name, _lookup(kind, name, "plugin_objects"))
            for kind in ("layers", "architectures") for name in record.registered.get(kind, ())]


def add_commands(subparsers):
    """Add every registered command to argparse ``subparsers`` (the ``gradcnn`` command does)."""
    _ensure_loaded()
    for add, _ in _registry["commands"].values():
        add(subparsers)
