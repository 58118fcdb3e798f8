"""``ls`` and ``du``: look at a collection before moving it, through the engine's own walk.

Both stream the paged GenQuery listings a download uses (``engine.listings.remote_tree``: the
objects and the collections, merged in catalog order), and print each entry as it arrives, so
a collection of a million objects is listed in bounded memory.

- ``ls COLL``: the names directly in COLL (a collection with a trailing ``/``); ``-r``: every
  name below it, as relative paths; ``-l``: size in bytes, modify time, checksum and replica
  status before each name; ``--json``: one JSON array, an object per entry, written as it goes.
- ``du COLL``: objects, bytes and collections below COLL (every object once, however many
  replicas it has).
"""

from __future__ import annotations

import json
import os
import posixpath
import sys
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from datetime import datetime
from typing import Any

import anyio
import click

from mango_transfer import engine
from mango_transfer.cli.display import format_count, format_size
from mango_transfer.cli.exits import EXIT_INTERRUPTED, fail
from mango_transfer.engine.listings import remote_tree
from mango_transfer.errors import MangoError
from mango_transfer.fileinfo import DirInfo, ListedFile
from mango_transfer.irods.environment import load_environment

__all__ = ["du", "ls"]

Entry = DirInfo | ListedFile
_STATUS = {"0": "stale", "1": "good", "2": "intermediate", "3": "read-locked",
           "4": "write-locked"}


async def _entries(typed: str, recursive: bool,
                   resolved: list[str]) -> AsyncGenerator[tuple[str, Entry], None]:
    """``(absolute collection, entry)`` for every entry below the collection typed (or the one
    object it names, relative to its collection); the absolute path goes into ``resolved``."""
    env = await anyio.to_thread.run_sync(load_environment)
    path = engine.remote_path(typed, "the collection", home=env.home,
                              cwd=env.working_collection)
    resolved.append(path)
    options = engine.TransferOptions(threads=1, chunk_connections=1)
    async with engine.run_context(options, engine.Stats(record_files=False),
                                  environment=env) as ctx:
        kind = await ctx.remote_call(ctx.remote.collection_or_object, path)
        if kind == "object":
            found = await ctx.remote_call(ctx.remote.stat, path)
            if found is not None:
                yield posixpath.dirname(path), found
            return
        async with aclosing(remote_tree(ctx, path, recursive)) as tree:
            async for entry in tree:
                yield path, entry


def _stream(typed: str, recursive: bool, each: Callable[[str, Entry], None]) -> str:
    """Walk in an event loop, handing each entry to ``each``; a problem is one line, exit 2.
    Returns the absolute iRODS path walked."""
    resolved: list[str] = []

    async def walk() -> None:
        async with aclosing(_entries(typed, recursive, resolved)) as entries:
            async for collection, entry in entries:
                each(collection, entry)

    try:
        anyio.run(walk)
    except MangoError as exc:
        fail(exc)
    except KeyboardInterrupt:
        click.echo("mango-transfer: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:  # `ls | head`: the reader has all it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    return resolved[0]


def _name(entry: Entry) -> str:
    return entry.path + "/" if isinstance(entry, DirInfo) else entry.info.path


def _when(mtime: int | None) -> str:
    return "-" if mtime is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(mtime))


def _long(entry: Entry) -> str:
    if isinstance(entry, DirInfo):
        return f"{'-':>14}  {_when(entry.mtime):19}  {'-':49}  {'-':12}  {_name(entry)}"
    info = entry.info
    status = _STATUS.get(entry.replica_status, entry.replica_status)
    return (f"{info.size:>14}  {_when(info.mtime):19}  {info.checksum or '-':49}  "
            f"{status:12}  {info.path}")


def _as_json(collection: str, entry: Entry) -> dict[str, Any]:
    if isinstance(entry, DirInfo):
        return {"path": entry.path, "name": posixpath.basename(entry.path),
                "irods_path": f"{collection.rstrip('/')}/{entry.path}", "type": "collection",
                "size": None, "modified": _iso(entry.mtime), "checksum": None,
                "replica_status": None}
    info = entry.info
    return {"path": info.path, "name": posixpath.basename(info.path),
            "irods_path": f"{collection.rstrip('/')}/{info.path}", "type": "object",
            "size": info.size, "modified": _iso(info.mtime), "checksum": info.checksum,
            "replica_status": _STATUS.get(entry.replica_status, entry.replica_status)}


def _iso(mtime: int | None) -> str | None:
    if mtime is None:
        return None
    return datetime.fromtimestamp(mtime).astimezone().isoformat(timespec="seconds")


@click.command()
@click.argument("collection", default=".", required=False)
@click.option("--long", "-l", "long_format", is_flag=True,
              help="Size in bytes, modify time, checksum and replica status before each name.")
@click.option("--recursive", "-r", is_flag=True,
              help="Everything below COLLECTION, as relative paths (streamed: any size).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON array, an object per entry (path, name, irods_path, type, size, "
                   "modified, checksum, replica_status).")
def ls(collection: str, long_format: bool, recursive: bool, as_json: bool) -> None:
    """List COLLECTION (default: irods_cwd); collections end with '/'.

    COLLECTION may be absolute, ~ or ~/... (irods_home), or relative to irods_cwd.
    """
    first = True

    def each(base: str, entry: Entry) -> None:
        nonlocal first
        if as_json:
            click.echo(("[" if first else ",") + "\n" + json.dumps(_as_json(base, entry),
                                                                    ensure_ascii=False),
                       nl=False)
        else:
            click.echo(_long(entry) if long_format else _name(entry))
        first = False

    _stream(collection, recursive, each)
    if as_json:
        click.echo("[]" if first else "\n]")


@click.command()
@click.argument("collection", default=".", required=False)
@click.option("--json", "as_json", is_flag=True,
              help='One JSON object: {"collection", "objects", "bytes", "collections"}.')
def du(collection: str, as_json: bool) -> None:
    """Objects, bytes and collections below COLLECTION (default: irods_cwd).

    Every object counts once, whatever its replicas; sizes in binary units (1 MiB =
    1,048,576 bytes), with the exact byte count.
    """
    totals = {"objects": 0, "bytes": 0, "collections": 0}

    def each(base: str, entry: Entry) -> None:
        if isinstance(entry, DirInfo):
            totals["collections"] += 1
        else:
            totals["objects"] += 1
            totals["bytes"] += entry.info.size

    path = _stream(collection, True, each)
    if as_json:
        click.echo(json.dumps({"collection": path, **totals}))
        return
    click.echo(f"{format_size(totals['bytes'])} ({format_count(totals['bytes'])} bytes) in "
               f"{format_count(totals['objects'])} objects and "
               f"{format_count(totals['collections'])} collections: {path}")
