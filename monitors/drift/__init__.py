"""Drift engine: mergeable reference profiles, exact statistics under declared conventions, decisions.

Public API (imported lazily, so `import monitors.drift` costs nothing until a name is used; numpy,
scipy and pyarrow load on first use, never at function-app start-up):

    build_profile(chunks, *, categorical=(), numeric=(), features=None, plan=None) -> DatasetProfile
    DatasetProfile.to_json() / DatasetProfile.from_json(text)           (versioned)
    profile_window(reference, chunks, features=None) -> DatasetProfile  (mergeable: .merged(other, reference))
    compare(reference, chunks, config=None, *, features=None, raw_reference=None) -> DriftResult
    evaluate(reference, window, config=None) -> DriftResult
    DriftResult.to_dict()  (the CLI's JSON)
    render_report(result, title=...) -> str  (self-contained HTML)
    readers: read_path, read_csv, read_parquet, read_jsonl, read_collected  (-> chunks)

No Azure import and no I/O beyond what a reader is handed.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_profile": "monitors.drift.build",
    "profile_window": "monitors.drift.window",
    "ReferenceBuilder": "monitors.drift.build",
    "WindowBuilder": "monitors.drift.window",
    "DatasetProfile": "monitors.drift.profile",
    "ReferenceProfile": "monitors.drift.profile",
    "compare": "monitors.drift.engine",
    "evaluate": "monitors.drift.engine",
    "DriftConfig": "monitors.drift.decisions",
    "FeatureRule": "monitors.drift.decisions",
    "DriftResult": "monitors.drift.result",
    "FeatureResult": "monitors.drift.result",
    "render_report": "monitors.drift.report",
    "BadInputError": "monitors.drift.errors",
    "ProfileFormatError": "monitors.drift.errors",
    "Batch": "monitors.drift.columns",
    "read_path": "monitors.drift.readers",
    "read_csv": "monitors.drift.readers",
    "read_parquet": "monitors.drift.readers",
    "read_jsonl": "monitors.drift.readers",
    "read_collected": "monitors.drift.readers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'monitors.drift' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
