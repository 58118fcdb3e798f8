"""Ingest unit tests: pure parts and real files in tmp dirs; no engine, no server."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
