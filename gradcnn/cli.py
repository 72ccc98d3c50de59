"""The ``gradcnn`` command (also ``python -m gradcnn``).

Its subcommands come from plugins' ``register_commands`` hooks; the built-in ones (``plugins``,
``layers``, ``models``, ``datasets``) from ``gradcnn/default_plugins/commands.py``.
"""

import argparse
import sys

from . import __version__, plugins
from .errors import GradcnnError


def build_parser():
    parser = argparse.ArgumentParser(prog="gradcnn", description="gradcnn: layers, models and plugins.")
    parser.add_argument("--version", action="version", version=f"gradcnn {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    plugins.add_commands(subparsers)
    return parser


def main(argv=None):
    """Run ``gradcnn`` with ``argv`` (default ``sys.argv[1:]``) and return the exit code: 0, 1 for
    an error (one line on stderr), 2 for a usage error."""
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse: --help and --version exit 0, a usage error 2
            return exc.code
        if not hasattr(args, "func"):
            parser.print_help(sys.stderr)
            return 2
        return args.func(args) or 0
    except GradcnnError as exc:
        print(f"gradcnn: error: {exc}", file=sys.stderr)
        return 1
