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


def test_the_layers_below_the_features_import_none_of_them() -> None:
    """The engine and the two sides it moves between serve every feature and know none: a
    feature (ingest, bench, scale-out) or the CLI builds on them, never the other way."""
    features = tuple(f"mango_transfer.{name}" for name in ("ingest", "cli", "bench", "scaleout"))
    offenders = [(str(p.relative_to(PACKAGE)), m)
                 for folder in ("engine", "irods", "localfs")
                 for p, m in _imports(PACKAGE / folder)
                 if m.startswith(features)]
    assert offenders == []


def test_importing_the_engine_loads_no_feature() -> None:
    import subprocess
    import sys

    code = ("import sys, mango_transfer.engine; print(sorted(m for m in sys.modules if "
            "m.split('.')[0] == 'watchfiles' or m.startswith(('mango_transfer.ingest', "
            "'mango_transfer.cli', 'mango_transfer.bench', 'mango_transfer.scaleout'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module → the modules of this package it imports (``from a import b`` names module
    ``a.b`` when that is a module, else ``a``)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}" if base else package
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# Known cycles still to be broken. Remove an entry as soon as its cycle is gone; add none.
_KNOWN_CYCLES: list[list[str]] = []


def test_no_import_cycles() -> None:
    """Modules form layers: none imports, directly or through others, a module that imports it
    back (a cycle makes both halves one unit that cannot be read or tested alone)."""
    assert [c for c in _cycles(_import_graph()) if c not in _KNOWN_CYCLES] == []


def test_engine_modules_stay_small() -> None:
    """One module, one job: an engine module that outgrows 400 lines holds two."""
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines())
             for p in (PACKAGE / "engine").glob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > 400} == {}


HEAVY_AT_START = ("irods", "tqdm", "watchfiles", "celery", "redis", "mango_transfer.server",
                  "mango_transfer.bench", "mango_transfer.ingest", "mango_transfer.scaleout.app",
                  "mango_transfer.engine.api", "mango_transfer.engine.runner")


def test_a_commands_help_loads_only_that_command() -> None:
    """``mango-transfer upload --help`` must answer at once (scale-out tasks and ingest
    restarts start the CLI too): no python-irodsclient, progress bar, embedded server, bench
    or watcher is imported for it. Counted as modules loaded, not as seconds (the machine is
    shared)."""
    import subprocess
    import sys

    for command in ("upload", "download", "sync", "check"):
        code = ("import sys\nfrom mango_transfer.cli.main import main\n"
                f"try:\n    main(['{command}', '--help'])\nexcept SystemExit:\n    pass\n"
                "print(sorted(m for m in sys.modules if m.startswith(%r)), file=sys.stderr)"
                % (HEAVY_AT_START,))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        assert out.stderr.strip() == "[]", (command, out.stderr)
        assert "Usage:" in out.stdout


def test_the_engine_names_its_public_face_once() -> None:
    """``mango_transfer.engine`` loads its names on first use; each must exist where the
    table says, so ``from mango_transfer.engine import X`` keeps working."""
    import mango_transfer.engine as engine

    for name in engine.__all__:
        assert getattr(engine, name) is not None, name


_POSIX_ONLY_MODULES = {"fcntl", "pwd", "grp", "termios", "resource", "pty", "tty"}
_POSIX_ONLY_CALLS = {("os", name) for name in (
    "fork", "forkpty", "fchmod", "fchown", "lchown", "geteuid", "getuid", "getgid", "setsid",
    "killpg", "getpgid", "setpgrp", "mkfifo", "sched_getaffinity", "statvfs")} | {
    ("signal", name) for name in ("SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM",
                                  "SIGCHLD", "SIGPIPE")}
# The embedded server is a test and demo tool that makes no claim to run on Windows; the one
# module that calls POSIX-only functions behind a check is localfs/portable.py; the bench's
# peak-RSS scenario imports POSIX's resource module inside the scenario only.
_PORTABILITY_EXEMPT = ("server", "localfs/portable.py", "bench/runner.py")


def test_the_tool_has_no_posix_only_call_outside_its_guarded_place() -> None:
    """Most lab PCs run Windows and CI runs on Linux only: the code that runs on a user's
    machine (everything but the embedded server) calls nothing that Windows lacks, except in
    localfs/portable.py, which checks first."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(_PORTABILITY_EXEMPT):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                offenders += [(relative, a.name) for a in node.names
                              if a.name.split(".")[0] in _POSIX_ONLY_MODULES]
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module.split(".")[0] in _POSIX_ONLY_MODULES:
                    offenders.append((relative, node.module))
            elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and (node.value.id, node.attr) in _POSIX_ONLY_CALLS):
                offenders.append((relative, f"{node.value.id}.{node.attr}"))
    assert offenders == []
