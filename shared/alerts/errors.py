"""Errors the alert package raises across its layers. Never imports an SDK, so every layer can use them."""

from __future__ import annotations


class Conflict(Exception):
    """Someone else wrote first (ETag mismatch, or the blob already exists): re-read and decide again."""


class AlertNotFound(LookupError):
    pass


class SilenceNotFound(LookupError):
    pass


class InvalidSilence(ValueError):
    pass
