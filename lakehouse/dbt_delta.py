"""dbt-duckdb's ``delta`` plugin, building each Delta table's dataset once per table version.

dbt-duckdb calls a plugin's ``load`` every time a node resolves ``source()`` (the staging model
and each source test), and deltalake's ``to_pyarrow_dataset`` turns every data file's statistics
into a filter expression, which costs about a second per few hundred files. A table does not
change while a transform reads it, so the dataset of a version is built once per process and
shared by the bronze gate and every dbt node; a new version (Spark wrote again) builds a new one.
``profiles.yml`` registers this module under the alias ``delta``, so sources keep
``meta: {plugin: delta}``.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import delta
from dbt.adapters.duckdb.utils import SourceConfig

# Latest dataset per table path: ((table id, version), dataset).
_DATASETS: dict[str, tuple[tuple[str, int], Any]] = {}


def delta_dataset(path: str) -> Any:
    """The pyarrow dataset of the Delta table at ``path``, as of its latest version.

    Raises:
        deltalake.exceptions.TableNotFoundError: no Delta table at ``path``.
    """
    from lakehouse.storage import delta_table, location

    table = delta_table(location(path))
    # The table id as well: a table deleted and written again starts over at version 0.
    version = (table.metadata().id, table.version())
    cached = _DATASETS.get(path)
    if cached is None or cached[0] != version:
        cached = (version, table.to_pyarrow_dataset())
        _DATASETS[path] = cached
    return cached[1]


class Plugin(delta.Plugin):
    def load(self, source_config: SourceConfig) -> Any:
        pinned = any(
            source_config.get(key) for key in ("storage_options", "as_of_version", "as_of_datetime")
        )
        if "delta_table_path" not in source_config or pinned:
            return super().load(source_config)
        return delta_dataset(source_config["delta_table_path"])
