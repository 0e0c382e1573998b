"""The warehouse: the project's own PostgreSQL server locally (standing in for Redshift).

- :mod:`lakehouse.warehouse.server`: start, stop and inspect the server; connect to it.
- :mod:`lakehouse.warehouse.publish`: publish the gold marts into it with an atomic schema swap.
- :mod:`lakehouse.warehouse.odbc`: write an ODBC DSN so BI tools reach it.
- :mod:`lakehouse.warehouse.query`: run analyst SQL against it.
"""

from lakehouse.warehouse.server import (
    LocalServer,
    ServerStatus,
    WarehouseError,
    WarehouseTarget,
    connect,
    require_target,
    resolve_target,
)

__all__ = [
    "LocalServer",
    "ServerStatus",
    "WarehouseError",
    "WarehouseTarget",
    "connect",
    "require_target",
    "resolve_target",
]
