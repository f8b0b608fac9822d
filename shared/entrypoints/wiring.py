"""The services the blueprints call, built on first use so that loading the app touches no storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.bootstrap import Services


def services() -> Services:
    from shared.bootstrap import services as build

    return build()
