"""``--debug``: everything the engine and python-irodsclient log, on stderr, with secrets blanked.

PRC does not log passwords today, but a debug log is exactly what users paste into tickets, so
every record is scrubbed: the stored password itself wherever it appears, and the values of the
fields that carry secrets in iRODS' JSON auth messages.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

_SECRET_FIELDS = re.compile(
    r"""(["']?(?:a_pw|password|request_result|digest|resp|irods_password)["']?\s*[:=]\s*)"""
    r"""(["'])(.*?)\2""", re.IGNORECASE)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for secret in self.secrets:
            text = text.replace(secret, "***")
        record.msg, record.args = _SECRET_FIELDS.sub(r"\1\2***\2", text), ()
        if record.exc_info and record.exc_text is None:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _SECRET_FIELDS.sub(r"\1\2***\2", text)


def stored_password() -> list[str]:
    """The password in the user's .irodsA, so that it can be blanked (never shown)."""
    try:
        import json

        from irods.password_obfuscation import decode

        from ..irods.environment import auth_file_path, environment_path

        settings = json.loads(environment_path().read_text())
        return [str(decode(auth_file_path(settings).read_text()))]
    except Exception:  # noqa: BLE001 - no readable password: nothing to blank
        return []


def enable_debug_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.addFilter(RedactSecrets(stored_password()))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
