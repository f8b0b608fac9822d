"""Keep webhook URLs and keys out of logs, error messages and stored records.

A webhook URL for Slack, a Teams Workflows URL (its `sig=`), a PagerDuty routing key and an Event Grid
topic key are all bearer secrets: whoever reads one can post to the channel. They arrive from settings
wrapped in `Secret`, whose str/repr never show the value; sinks call `.reveal()` only to send. Whatever
text might echo them (an HTTP library's exception, a response body, urllib3's debug log line) goes
through a `Redactor` first.

This module must never log, print or store a secret, and must stay free of third-party imports.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"

# Loggers of the HTTP stacks we use, which can print a request URL at DEBUG/INFO level.
HTTP_LOGGERS = (
    "urllib3.connectionpool",
    "httpx",
    "httpcore",
    "azure.core.pipeline.policies.http_logging_policy",
)


class Secret:
    """A string that shows as *** wherever it is formatted, so printing settings is safe."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _fragments(secret: str) -> set[str]:
    """The pieces of a secret that may be echoed on their own (a URL's path, query, query values)."""
    pieces = {secret, unquote(secret)}
    if "://" in secret:
        parts = urlsplit(secret)
        path_query = parts.path + (f"?{parts.query}" if parts.query else "")
        pieces |= {path_query, unquote(path_query), parts.query}
        if len(parts.path) > 1:
            pieces.add(parts.path)
        pieces |= {value for _, value in parse_qsl(parts.query) if len(value) >= 16}
    return {p for p in pieces if len(p) >= 6}


class Redactor:
    """Replaces every known secret, and the URL pieces that can leak on their own, with ***."""

    def __init__(self, secrets: Iterable[Secret | str | None] = ()) -> None:
        self._fragments: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: Secret | str | None) -> None:
        if secret is None:
            return
        raw = secret.reveal() if isinstance(secret, Secret) else secret
        merged = set(self._fragments) | _fragments(raw)
        self._fragments = sorted(merged, key=len, reverse=True)  # longest first: mask whole URLs first

    def __call__(self, text: object) -> str:
        out = str(text)
        for fragment in self._fragments:
            if fragment in out:
                out = out.replace(fragment, MASK)
        return out


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites a record's final message through a Redactor."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("modelwatch-redact")
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redactor(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_LOG_REDACTOR = Redactor()


def install_log_redaction(redactor: Redactor, logger_names: Iterable[str] = HTTP_LOGGERS) -> None:
    """Mask this redactor's secrets in the HTTP libraries' log records too, so a DEBUG line of urllib3
    ("POST /services/T0/B0/secret HTTP/1.1") cannot leak a webhook URL. Secrets accumulate in one
    process-wide filter per logger: a secret once registered stays masked."""
    for fragment in redactor._fragments:
        _LOG_REDACTOR.add(fragment)
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter(_LOG_REDACTOR))
