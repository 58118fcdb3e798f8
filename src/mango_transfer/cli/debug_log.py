"""``--debug``: what the engine and python-irodsclient do, on stderr, secrets blanked, bounded.

A debug log is what users paste into tickets, so it has to be both safe and readable:

- **Secrets.** The values of the fields that carry secrets in iRODS' messages (``a_pw``,
  ``password``, ``request_result``, ``resp``...) are blanked, and so is the stored password
  (and its scrambled ``.irodsA`` form) wherever it appears as a whole word. A password equal to
  a public name (the user, the zone, the host) is left alone outside those fields: blanking it
  would blank every path of the user's home (``/tempZone/home/rods``) and protect nothing.
- **Size.** PRC logs every message it sends or receives (``irods.connection``,
  ``irods.message``), the data blocks included: a 400 MB upload made 1.2 GB of log. Those two
  loggers stay at INFO; the engine logs one line per file instead (``mango_transfer.engine``).
  ``MANGO_DEBUG_WIRE=1`` brings the message log back, each record cut at 1,000 characters.
- **Where.** ``--debug`` works before or after the subcommand (``mango-transfer --debug
  upload ...`` and ``mango-transfer upload ... --debug``); a command that stops with an error
  then also logs its traceback.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable

__all__ = ["RedactSecrets", "enable_debug_logging", "is_enabled"]

_SECRET_FIELDS = re.compile(
    r"""(["']?(?:a_pw|pw|password|request_result|digest|resp|irods_password|token)["']?"""
    r"""\s*[:=]\s*)(["'])(.*?)\2""", re.IGNORECASE)
_SECRET_TAGS = re.compile(r"(<(a_pw|password|pw)>)(.*?)(</\2>)", re.IGNORECASE)
_WIRE_LOGGERS = ("irods.connection", "irods.message")
_MAX_WIRE = 1000
_enabled = False


class RedactSecrets(logging.Filter):
    """Blank secrets in every record (see the module docstring); ``public``: names that are
    not secret even when a password equals one of them."""

    def __init__(self, secrets: Iterable[str], public: Iterable[str] = (),
                 limit: int | None = None) -> None:
        super().__init__()
        known = set(public)
        chosen = sorted({s for s in secrets if len(s) >= 4 and s not in known}, key=len,
                        reverse=True)
        self.words = [re.compile(rf"(?<![A-Za-z0-9_]){re.escape(s)}(?![A-Za-z0-9_])")
                      for s in chosen]
        self.limit = limit

    def filter(self, record: logging.LogRecord) -> bool:
        text = self.scrub(record.getMessage())
        if self.limit is not None and record.name.startswith(_WIRE_LOGGERS) \
                and len(text) > self.limit:
            text = f"{text[:self.limit]}… ({len(text):,} characters in all)"
        record.msg, record.args = text, ()
        if record.exc_info and record.exc_text is None:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True

    def scrub(self, text: str) -> str:
        for word in self.words:
            text = word.sub("***", text)
        text = _SECRET_TAGS.sub(r"\1***\4", text)
        return _SECRET_FIELDS.sub(r"\1\2***\2", text)


def _stored_secrets() -> tuple[list[str], list[str]]:
    """(the password in the user's .irodsA and its scrambled form; the user, zone and host)."""
    try:
        from irods.password_obfuscation import decode

        from ..irods.environment import auth_file_path, environment_path

        settings = json.loads(environment_path().read_text())
        public = [str(settings.get(key, "")) for key in ("irods_user_name", "irods_zone_name",
                                                         "irods_host")]
        scrambled = auth_file_path(settings).read_text().strip()
        return [str(decode(scrambled)), scrambled], public
    except Exception:  # noqa: BLE001 - no readable password: nothing to blank
        return [], []


def is_enabled() -> bool:
    return _enabled


def enable_debug_logging() -> None:
    """Turn the debug log on (once, however often ``--debug`` is given)."""
    global _enabled
    if _enabled:
        return
    _enabled = True
    secrets, public = _stored_secrets()
    wire = os.environ.get("MANGO_DEBUG_WIRE", "") == "1"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.addFilter(RedactSecrets(secrets, public, limit=_MAX_WIRE))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in _WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if wire else logging.INFO)
