"""The architecture holds: the domain never imports Qt, the layers import only downwards, no
module imports itself back through others, and a wheel carries its resources."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    """Runs the import-linter contracts of pyproject.toml: the domain never imports Qt, and the
    layers (shells > use cases > store | documents > calculation > units) import downwards."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a test dependency; install the project with [test]"
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def import_cycles(*packages: str) -> list[list[str]]:
    """The strongly connected groups of more than one module in the import graph (every import,
    those under TYPE_CHECKING and inside functions included)."""
    import grimp

    graph = grimp.build_graph(*packages)
    edges = {m: [i for i in graph.find_modules_directly_imported_by(m) if i in graph.modules]
             for m in graph.modules}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's algorithm
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for other in edges[module]:
            if other not in order:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], order[other])
        if low[module] == order[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(edges):
        if module not in order:
            visit(module)
    return groups


def test_import_cycles_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check below can fail: a package whose modules import each other is one group."""
    package = tmp_path / "cyclic"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from cyclic import b\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                  "    from cyclic import a\n")
    (package / "c.py").write_text("from cyclic import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("cyclic") == [["cyclic.a", "cyclic.b"]]


def test_no_module_imports_itself_back() -> None:
    assert import_cycles("doseprep", "doseprep_ui") == []


def test_domain_imports_without_qt_loaded() -> None:
    code = ("import sys, doseprep.cli, doseprep.plans.fresh, doseprep.plans.fresh_report; "
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt loaded'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.slow
def test_wheel_carries_resources_and_runs_from_them(
        tmp_path: Path, base_request: dict, unpacked_wheel: tuple[Path, list[str]]) -> None:
    """Run `doseprep plan` from the unpacked wheel: resources come from inside the package."""
    unpacked, names = unpacked_wheel
    assert "doseprep/_resources/protocols/hmct-blinatumomab.toml" in names
    assert "doseprep/_resources/lab.toml" in names
    assert "doseprep/_resources/fonts/DejaVuSans.ttf" in names
    request = tmp_path / "r.json"
    request.write_text(json.dumps(base_request), encoding="utf-8")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "import doseprep.resources as r; print(r.resource_root()); "
            "from doseprep.cli import main; sys.exit(main(['plan', sys.argv[2], '--json']))")
    done = subprocess.run([sys.executable, "-c", code, str(unpacked), str(request)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    root, _, body = done.stdout.partition("\n")
    assert root.startswith(str(unpacked)), root
    assert json.loads(body)["withdraw_volume_mL"] == 1.8
