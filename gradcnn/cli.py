"""The ``gradcnn`` command (also ``python -m gradcnn``).

Its subcommands come from plugins' ``register_commands`` hooks; the built-in ones (``plugins``,
``layers``, ``models``, ``datasets``) from ``gradcnn/default_plugins/commands.py``.
"""

import argparse
import sys

from . import __version__, plugins
from .errors import GradcnnError


def _int_at_least(minimum, noun):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {noun} int, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a {noun} int, got {value}")
        return value

    parse.__name__ = f"{noun.replace('-', '_')}_int"
    return parse


#: argparse types: an int of at least 1 (``--epochs``, ``--batch-size``), of at least 0 (``--seed``).
positive_int = _int_at_least(1, "positive")
non_negative_int = _int_at_least(0, "non-negative")


def positive_float(text):
    """An argparse type: a finite number above 0 (``--lr``): ``nan``, ``inf`` and 0 are refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite positive number, got {text}")
    return value


def usage_error(parser, message):
    """Exit with status 2 after one line on stderr, ``gradcnn: error: message`` (the usage would not
    help: the arguments parsed; what they name is wrong)."""
    parser.exit(2, f"gradcnn: error: {message}\n")


def writable_directory(parser, path):
    """``path`` as a directory this process can write into (made if missing), or a usage error
    (exit 2, one line) naming what is wrong with it."""
    import os
    import pathlib

    out = pathlib.Path(path)
    if out.exists() and not out.is_dir():
        usage_error(parser, f"--out {path}: is a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        usage_error(parser, f"--out {path}: cannot create the directory ({exc.strerror})")
    if not os.access(out, os.W_OK | os.X_OK):
        usage_error(parser, f"--out {path}: the directory is not writable")
    return out


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
        try:
            if not hasattr(args, "func"):
                parser.error("a command is required (gradcnn --help lists them)")
            return args.func(args) or 0
        except SystemExit as exc:  # a command's own usage error (parser.error): one line, status 2
            return exc.code
    except (GradcnnError, OSError) as exc:  # a file that cannot be written, say: the user's to fix
        print(f"gradcnn: error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc):
    """The message of ``exc`` on one line (a message with advice on further lines is joined)."""
    if isinstance(exc, OSError) and not isinstance(exc, GradcnnError) and exc.strerror:
        where = f" {exc.filename!r}" if exc.filename else ""
        return f"{exc.strerror}:{where}"
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
