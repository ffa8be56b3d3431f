"""Writing result tables: CSV, Parquet or JSON by file extension, never over a file silently."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from skymesh.errors import InputError
from skymesh.files import atomic_path, write_error

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json"}


def table_records(table: pa.Table) -> list[dict]:
    """Rows as JSON-ready dicts: timestamps as ISO strings, NaN/null as None."""
    rows = table.to_pylist()
    for row in rows:
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat().replace("+00:00", "Z")
            elif isinstance(value, float) and not math.isfinite(value):
                row[key] = None
    return rows


def jsonable(obj):
    """``obj`` with numpy scalars/arrays and non-finite floats made JSON-safe."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "isoformat"):
        return obj.isoformat().replace("+00:00", "Z")
    return obj


def write_table(table: pa.Table, path, *, force: bool = False, meta: dict | None = None) -> Path:
    """Write ``table`` to ``path`` as CSV, Parquet or JSON (chosen by extension).

    Refuses to replace an existing file unless ``force``. CSV cannot hold list
    columns, so those are written as space-separated text. The file is written
    under a temporary name beside ``path`` and renamed into place, so a full
    disk or a kill never leaves a truncated table; a write that fails is one
    :class:`~skymesh.errors.SkyMeshError` naming ``path`` and the reason.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"unknown output format '{path.suffix}'; use .csv, .parquet or .json",
            file=path,
            field="out",
        )
    if path.exists() and not force:
        raise InputError("file exists; pass --force to replace it", file=path, field="out")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(path, exc) from None
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            if meta:
                table = table.replace_schema_metadata(
                    {
                        **(table.schema.metadata or {}),
                        b"skymesh": json.dumps(jsonable(meta)).encode(),
                    }
                )
            pq.write_table(table, tmp)
        elif fmt == "csv":
            flat = table
            for i, field in enumerate(table.schema):
                if pa.types.is_list(field.type):
                    text = [
                        None if v is None else " ".join(map(str, v))
                        for v in table.column(i).to_pylist()
                    ]
                    flat = flat.set_column(i, field.name, pa.array(text, type=pa.string()))
            pacsv.write_csv(flat, tmp)
        else:
            doc = {"meta": jsonable(meta or {}), "rows": table_records(table)}
            tmp.write_text(json.dumps(doc, indent=1) + "\n")
    return path
