"""docs/plugins.md shows the code of plugins/gradcnn-text, a plugin that is installed and tested.

Each python and toml snippet on the page starts with a comment naming its file (relative to the
repository root); the rest of the snippet must appear in that file verbatim, up to one indentation
common to all its lines (a method may be shown dedented), so the page cannot drift from the code.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "plugins.md"
FENCE = re.compile(r"^```(python|toml)\n(.*?)^```", re.S | re.M)


def _snippets():
    text = PAGE.read_text()
    return [pytest.param(m.group(1), m.group(2), id=f"plugins.md:{text.count(chr(10), 0, m.start()) + 1}")
            for m in FENCE.finditer(text)]


def _appears_in(lines, source):
    """Whether ``lines`` are consecutive lines of ``source``, each behind the same indentation."""
    first = lines[0]
    for i, line in enumerate(source):
        indent = line[: len(line) - len(first)]
        if not line.endswith(first) or indent.strip():
            continue
        window = source[i : i + len(lines)]
        if len(window) == len(lines) and all(
            got == indent + want if want else not got.strip() for got, want in zip(window, lines)
        ):
            return True
    return False


def test_the_page_shows_the_entry_point_the_hooks_and_a_layer_test():
    files = [code.splitlines()[0] for _, code in (param.values for param in _snippets())]
    for name in ("pyproject.toml", "gradcnn_text/plugin.py", "tests/test_textcnn.py"):
        assert any(f.endswith(name) for f in files), f"docs/plugins.md shows no snippet of {name}"


@pytest.mark.parametrize("language, code", _snippets())
def test_snippet_is_copied_from_gradcnn_text(language, code):
    header, *lines = code.splitlines()
    match = re.fullmatch(r"# (plugins/gradcnn-text/\S+)", header)
    assert match, f"the first line of a {language} snippet must be '# plugins/gradcnn-text/FILE', got {header!r}"
    path = ROOT / match.group(1)
    assert path.is_file(), f"{match.group(1)} does not exist"
    assert lines, "empty snippet"
    assert _appears_in(lines, path.read_text().splitlines()), (
        f"this snippet of docs/plugins.md is not in {match.group(1)} (copy it from there again):\n" + "\n".join(lines)
    )


def test_the_environment_switches_are_the_ones_gradcnn_reads():
    source = (ROOT / "gradcnn" / "plugins.py").read_text()
    read = set(re.findall(r"\b(GRADCNN_[A-Z_]+_PLUGINS)\b", source))
    assert read == {"GRADCNN_STRICT_PLUGINS", "GRADCNN_LOAD_PLUGINS", "GRADCNN_DISABLE_PLUGINS"}
    page = PAGE.read_text()
    for name in read:
        assert f"`{name}" in page, f"docs/plugins.md does not document {name}"
