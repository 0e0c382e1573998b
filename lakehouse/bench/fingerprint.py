"""Order-independent fingerprints of tables, to check that two ways of building them agree.

A fingerprint is the row count and the sum of a hash of each row's content columns. Metadata that
differs by construction between two runs (``_ingested_at``, ``_batch_id``, ``_landing_path``:
when and from which object a row was written, not what it says) is left out; everything a
reader sees as data is in.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

# When and how a row was written, not what it says: differs between equivalent runs.
RUN_METADATA = {"_ingested_at", "_batch_id", "_landing_path", "_run_id", "_built_at"}


def arrow_fingerprint(
    table: pa.Table, key_columns: list[str] | None = None, columns: list[str] | None = None
) -> dict:
    """Fingerprint of an Arrow table: rows, distinct keys (if given) and a content hash.

    Args:
        table: The table.
        key_columns: Natural key, to count distinct keys (duplicates show as rows > keys).
        columns: Hash only these (e.g. the columns two engines share); default: all but
            :data:`RUN_METADATA`. Values are hashed as text, so an ``int`` and a ``bigint`` of
            the same value agree; doubles at 10 significant digits.
    """
    columns = columns or [c for c in table.column_names if c not in RUN_METADATA]
    con = duckdb.connect()
    try:
        con.register("t", table)
        cols = ", ".join(f'"{c}"' for c in columns)
        floats = {
            f.name for f in table.schema if pa.types.is_floating(f.type) and f.name in columns
        }
        # Sums and averages of doubles depend on the order rows are added in (parallel
        # aggregation), so doubles are compared at 10 significant digits, not to the last bit.
        texts = ", ".join(
            f'"{c}" := printf(\'%.10g\', "{c}")'
            if c in floats
            else f'"{c}" := cast("{c}" as varchar)'
            for c in columns
        )
        # Hash each row's content; a sum (as hugeint, no overflow) ignores row order.
        rows, digest = con.execute(
            f"select count(*), coalesce(sum(hash(struct_pack({texts})))::varchar, '0') "
            f"from (select {cols} from t)"
        ).fetchall()[0]
        out = {"rows": int(rows), "hash": str(digest)}
        if key_columns:
            keys = ", ".join(f'"{k}"' for k in key_columns)
            out["distinct_keys"] = int(
                con.execute(f"select count(*) from (select distinct {keys} from t)").fetchall()[0][
                    0
                ]
            )
        return out
    finally:
        con.close()


def delta_fingerprint(
    path: Path, key_columns: list[str] | None = None, columns: list[str] | None = None
) -> dict:
    """Fingerprint of a Delta table (see :func:`arrow_fingerprint`)."""
    table = DeltaTable(str(path)).to_pyarrow_table(columns=columns)
    return arrow_fingerprint(table, key_columns, columns)
