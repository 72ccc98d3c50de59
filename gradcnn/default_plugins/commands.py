"""The built-in subcommands of ``gradcnn``: ``plugins``, ``layers``, ``models``, ``datasets``,
``check-plugin``."""

import dataclasses
import json
import textwrap

import gradcnn


@gradcnn.hookimpl
def register_commands(cli):
    report = cli.add_parser("plugins", help="list the plugins, what each registered, and any failure",
                            description="List the built-in and installed plugins: distribution and "
                                        "version, what each registered, why any failed or was not loaded.")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.set_defaults(func=_plugins)
    for command, names in (("layers", gradcnn.list_layers), ("models", gradcnn.list_models),
                           ("datasets", gradcnn.list_datasets)):
        listing = cli.add_parser(command, help=f"list the registered {command}, one name a line")
        listing.set_defaults(func=_lister(names))
    check = cli.add_parser(
        "check-plugin", help="property-test every layer and architecture a plugin registers",
        description="Run gradcnn.testing.check_layer on each layer and architecture the plugin "
                    "registered that defines check_layer_example; exit 1 if any fails.")
    check.add_argument("plugin", help="the plugin's name, as `gradcnn plugins` shows it")
    check.add_argument("--require-examples", action="store_true",
                       help="also fail when an object has no check_layer_example")
    check.set_defaults(func=_check_plugin)


def _check_plugin(args):
    from gradcnn.plugins import plugin_objects
    from gradcnn.testing.layers import check_objects

    passed, failed, missing = check_objects(plugin_objects(args.plugin))
    print(f"{len(passed)} passed, {len(failed)} failed" + (f", {len(missing)} without an example" if missing else ""))
    return 1 if failed or (args.require_examples and missing) else 0


def _lister(names):
    def run(_args):
        for name in names():
            print(name)

    return run


def _plugins(args):
    records = gradcnn.plugin_report()
    if args.json:
        print(json.dumps([dataclasses.asdict(record) for record in records], indent=2))
        return
    for record in records:
        print(f"{record.name}  ({record.distribution} {record.version})")
        if record.failure:
            print(f"  FAILED: {record.failure}")
        if record.disabled:
            print(f"  not loaded: {record.disabled}")
        for kind, names in record.registered.items():
            print(textwrap.fill(", ".join(names), width=100, initial_indent=f"  {kind} ({len(names)}): ",
                                subsequent_indent="    ", break_on_hyphens=False))
        if not (record.failure or record.disabled or record.registered):
            print("  registered nothing")
