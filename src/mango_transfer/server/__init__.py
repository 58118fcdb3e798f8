"""The embedded iRODS-protocol server (``mango-transfer serve``).

It speaks the iRODS 5.0.2 wire protocol well enough for an unmodified python-irodsclient, keeps a
real catalog in SQLite and replicas in a vault on disk.  It imports nothing from the engine: it is
a stand-in for a production zone, and must behave like one (strict where iRODS is strict).
"""

from .app import EmbeddedServer, Endpoint, Server, ServerProcess, run_until_signal
from .faults import Faults, FaultSpecError
from .state import ServerConfig

__all__ = ["EmbeddedServer", "Endpoint", "FaultSpecError", "Faults", "Server", "ServerConfig",
           "ServerProcess", "run_until_signal"]
