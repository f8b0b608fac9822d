"""Reading a column as numbers, with the row of the first value that is not one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from monitors.drift.columns import Batch, as_float
from monitors.drift.errors import BadInputError


def read_numbers(values: Any, batch: Batch, name: str) -> np.ndarray:
    """Values as float64 (NaN for nulls); text (a --numeric override) must parse as numbers."""
    try:
        return as_float(values)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        texts = values.to_pylist() if hasattr(values, "to_pylist") else list(values)
        for offset, text in enumerate(texts):
            try:
                float(text) if text is not None else None
            except (TypeError, ValueError):
                raise BadInputError(f"{text!r} is not a number", column=name, **batch.where(offset)) from exc
        raise BadInputError(f"cannot read as numbers ({exc})", column=name, **batch.where(0)) from exc
