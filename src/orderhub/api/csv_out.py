"""The one CSV writer for downloads (API reports and the dashboard).

Cells come partly from channels and customers (external ids, names), and a spreadsheet runs a
cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula
(CSV injection, OWASP). Such a cell is written with a leading ``'``, which spreadsheets show
as text; a plain number (``-12.50``) is left as it is so that sums still work.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from fastapi import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet will read it as data, never as a formula."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def csv_attachment(
    filename: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A ``text/csv`` download, every cell through :func:`safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
