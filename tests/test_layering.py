"""The floor plan of gradcnn, read from the source with ``ast`` (imports inside functions count).

Each part of the package (a top-level module or subpackage) may import only the parts listed for it
in ``ALLOWED``; a part may always import its own modules. No import cycle exists between modules,
and nothing below the top floor (``cli``, ``default_plugins``, ``__main__``) imports the package root.
docs/architecture.md draws the same plan.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "gradcnn"

_BASE = {"errors", "absent", "arguments"}
ALLOWED = {
    "errors": set(),
    "absent": {"errors"},
    "arguments": {"errors"},
    "version": set(),
    "hookspecs": set(),
    "geometry": _BASE,
    "random": _BASE,
    "backends": _BASE,
    "autograd": _BASE | {"backends"},
    "tensor": _BASE | {"autograd", "backends"},
    "creation": _BASE | {"backends", "geometry", "random", "tensor"},
    "dlpack": _BASE | {"backends", "tensor"},
    "ops": _BASE | {"autograd", "backends", "geometry", "random", "tensor"},
    "functional": {"absent", "ops"},
    "distributed": _BASE | {"autograd", "backends", "tensor"},
    "nn": _BASE | {"autograd", "backends", "creation", "distributed", "functional", "geometry", "random",
                   "tensor"},
    "optim": _BASE | {"autograd", "backends", "geometry", "tensor"},
    "utils": _BASE | {"backends", "creation", "random", "tensor"},
    "data": _BASE | {"backends", "creation", "geometry", "random", "tensor", "utils"},
    "io": _BASE | {"backends", "tensor", "version"},
    "testing": _BASE | {"autograd", "backends", "creation", "geometry", "random", "tensor"},
    "cuda": _BASE | {"backends"},
    "accelerator": _BASE | {"backends", "cuda"},
    "introspect": _BASE | {"autograd", "creation", "functional", "geometry", "nn", "tensor"},
    "architectures": _BASE | {"functional", "nn"},
    "train": _BASE | {"autograd", "backends", "data", "distributed", "functional", "io", "nn", "optim",
                      "random", "tensor", "utils"},
    "plugins": _BASE | {"hookspecs", "version"},
    "onnx": _BASE | {"autograd", "backends", "creation", "nn", "ops", "tensor", "version"},
    "visualize": _BASE | {"autograd", "introspect", "nn", "ops", "tensor"},
}
TOP = {"__init__", "__main__", "cli", "default_plugins"}  # may import anything


def _modules():
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


MODULES = _modules()


def _imports(name, path=None):
    """Every gradcnn module ``name`` (read from ``path``, by default its file) imports, anywhere in
    its source."""
    path = MODULES[name] if path is None else path
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _part(name):
    parts = name.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def test_every_part_has_a_floor():
    parts = {_part(m) for m in MODULES}
    assert parts - TOP <= set(ALLOWED), f"parts without a place in ALLOWED: {sorted(parts - TOP - set(ALLOWED))}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    part = _part(name)
    if part in TOP:
        return
    bad = sorted(t for t in GRAPH[name] if _part(t) != part and _part(t) not in ALLOWED[part])
    assert not bad, f"{name} imports {bad}; {part} may import only {sorted(ALLOWED[part])}"


def test_no_import_cycles():
    # Tarjan's strongly connected components, iteratively.
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    counter = 0
    for start in sorted(GRAPH):
        if start in index:
            continue
        work = [(start, iter(sorted(GRAPH[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_imports_inside_functions(tmp_path):
    # A lazy import counts: tensor.py with one inside a function would break the floor plan.
    assert "gradcnn.ops.shape" not in GRAPH["gradcnn.tensor"]
    source = MODULES["gradcnn.tensor"].read_text(encoding="utf-8")
    late = tmp_path / "tensor.py"
    late.write_text(source + "\n\ndef _late():\n    from .ops import shape\n    import gradcnn.nn\n")
    assert {"gradcnn.ops.shape", "gradcnn.nn"} <= _imports("gradcnn.tensor", late)


def test_only_the_top_floor_imports_the_package_root():
    bad = sorted(m for m, deps in GRAPH.items() if "gradcnn" in deps and _part(m) not in TOP)
    assert not bad, f"{bad} import the package root gradcnn"
