"""The "Additional analyses" section: supplementary tables stored with a result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from featcls.report._facts import Facts

__all__ = ["analyses_section"]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _table(entry: Mapping) -> dict:
    """One stored table as columns (with alignment) and rows padded to their width.

    Tolerates hand-edited JSON: ragged rows are padded with missing cells, and
    a row that is not a list is shown as one cell.
    """
    columns = [str(c) for c in entry.get("columns") or []]
    rows = [
        list(row) if isinstance(row, Sequence) and not isinstance(row, str) else [row]
        for row in entry.get("rows") or []
    ]
    width = max([len(columns), *map(len, rows)])
    columns += [""] * (width - len(columns))
    rows = [row + [None] * (width - len(row)) for row in rows]
    numeric = [
        any(_is_number(r[j]) for r in rows)
        and all(r[j] is None or _is_number(r[j]) for r in rows)
        for j in range(width)
    ]
    return {
        "title": str(entry.get("title") or "untitled table"),
        "note": str(entry.get("note") or ""),
        "columns": [
            {"name": name, "numeric": num}
            for name, num in zip(columns, numeric, strict=True)
        ],
        "rows": [
            [{"value": v, "numeric": num} for v, num in zip(r, numeric, strict=True)]
            for r in rows
        ],
    }


def analyses_section(facts: Facts) -> dict | None:
    """Every table added with ``ComparisonResult.add_table``; None when there is none.

    A numeric column (numbers and missing values only) is right-aligned; the
    template formats floats to three decimals and missing values as a dash.
    """
    tables = [t for t in facts.result.tables or [] if isinstance(t, Mapping)]
    if not tables:
        return None
    return {"tables": [_table(t) for t in tables]}
