"""The folder layout is the architecture: these import rules keep it honest."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mango_transfer"


def _imports(folder: Path) -> set[tuple[Path, str]]:
    found = set()
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update((path, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:  # resolve relative imports against the package path
                    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
                    module = ".".join([*parts, module]) if module else ".".join(parts)
                found.add((path, module))
    return found


def test_server_imports_nothing_from_the_engine() -> None:
    forbidden = ("mango_transfer.engine", "mango_transfer.irods", "mango_transfer.cli",
                 "mango_transfer.localfs", "mango_transfer.errors")
    offenders = [(p.name, m) for p, m in _imports(PACKAGE / "server") if m.startswith(forbidden)]
    assert offenders == []


def test_engine_has_no_user_interface() -> None:
    offenders = [(p.name, m) for p, m in _imports(PACKAGE / "engine")
                 if m.split(".")[0] in ("click", "tqdm") or m.startswith("mango_transfer.cli")]
    assert offenders == []
