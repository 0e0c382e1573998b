"""Analyst SQL against the warehouse: the ``warehouse`` engine of ``lakehouse sql``.

Queries run read-only with ``search_path`` set to ``gold``, so unqualified mart names resolve as
they do on the lake engine (``select * from agg_weather_daily``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.settings import Settings
from lakehouse.warehouse.publish import GOLD_SCHEMA
from lakehouse.warehouse.server import WarehouseError, connect


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of one query, in the warehouse's Python types."""

    columns: list[str]
    rows: list[tuple]

    def to_arrow(self):
        """The result as a ``pyarrow.Table`` (types inferred from the values)."""
        import pyarrow as pa

        return pa.table(
            {name: [row[i] for row in self.rows] for i, name in enumerate(self.columns)}
        )


def run_query(settings: Settings, query: str) -> QueryResult:
    """Run one read-only statement on the warehouse and return its rows.

    Raises:
        WarehouseError: The warehouse is not running, or the SQL failed (message from PostgreSQL).
    """
    import psycopg

    with connect(settings) as conn:
        conn.read_only = True
        try:
            with conn.cursor() as cur:
                cur.execute(f"set search_path to {GOLD_SCHEMA}, public")
                cur.execute(query)
                if cur.description is None:
                    return QueryResult(columns=[], rows=[])
                columns = [d.name for d in cur.description]
                return QueryResult(columns=columns, rows=cur.fetchall())
        except psycopg.Error as exc:
            message = str(exc).strip() or type(exc).__name__
            raise WarehouseError(f"the warehouse rejected the query: {message}") from None


def query(settings: Settings, sql: str) -> tuple[list[str], list[tuple]]:
    """``(columns, rows)`` of ``sql`` on the warehouse: the ``lakehouse sql`` engine signature."""
    result = run_query(settings, sql)
    return result.columns, result.rows
