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


def test_celery_stays_optional() -> None:
    """Only ``scaleout/`` imports Celery or Redis, and the engine knows nothing of scale-out:
    the single-machine path needs neither the extra nor a broker."""
    outside = [(p.name, m) for p, m in _imports(PACKAGE)
               if m.split(".")[0] in ("celery", "redis", "kombu")
               and "scaleout" not in p.relative_to(PACKAGE).parts]
    assert outside == []
    engine = [(p.name, m) for p, m in _imports(PACKAGE / "engine")
              if m.startswith("mango_transfer.scaleout")]
    assert engine == []


def test_the_cli_starts_without_loading_celery() -> None:
    import subprocess
    import sys

    code = ("import sys, mango_transfer.cli.main; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('celery', 'redis', 'kombu')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
