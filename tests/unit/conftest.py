"""Unit tests (no server): run async tests on asyncio only.

The installed trio is older than anyio's trio backend expects, and the engine targets asyncio.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
