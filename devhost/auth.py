"""Function keys, checked the way the Functions host checks them, only when keys are configured.

With neither DEVHOST_FUNCTION_KEYS nor DEVHOST_MASTER_KEY set, everything is anonymous (as `func start`
is locally). Once keys are set: `function` level accepts a function key or the master key, `admin`
level (and the admin API, the Event Grid webhook) only the master key; the key comes from the
`x-functions-key` header or the `code` query parameter. Function keys without a master key therefore
close admin level to every caller (they never open it). Never logs a key.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

from devhost.settings import Keys

ANONYMOUS = "anonymous"
FUNCTION = "function"
ADMIN = "admin"


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    return headers.get("x-functions-key") or query.get("code") or None


def _matches(candidate: str, valid: Iterable[str]) -> bool:
    found = False
    for key in valid:
        found |= hmac.compare_digest(candidate.encode(), key.encode())
    return found


def is_master(keys: Keys, candidate: str | None) -> bool:
    return bool(keys.master_key and candidate and _matches(candidate, [keys.master_key]))


def admin_allowed(keys: Keys, candidate: str | None) -> bool:
    """May this caller use the admin API or the Event Grid webhook? Anyone when no key is configured at all;
    otherwise only the master key, so with function keys but no master key nobody may."""
    return not keys.enforced or is_master(keys, candidate)


def authorized(keys: Keys, level: str, candidate: str | None) -> bool:
    """May a request carrying `candidate` run something at `level`?"""
    if not keys.enforced or level == ANONYMOUS:
        return True
    if candidate is None:
        return False
    if level == ADMIN:
        return is_master(keys, candidate)
    valid = list(keys.function_keys) + ([keys.master_key] if keys.master_key else [])
    return _matches(candidate, valid)
