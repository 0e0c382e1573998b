"""The per-version dataset cache of the dbt delta plugin."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from lakehouse.dbt_delta import delta_dataset


def test_dataset_follows_new_versions_and_recreated_tables(tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    write_deltalake(path, pa.table({"a": [1]}))
    assert delta_dataset(path) is delta_dataset(path)  # one dataset per version
    write_deltalake(path, pa.table({"a": [2]}), mode="append")
    assert delta_dataset(path).count_rows() == 2
    # Deleted and written again: version 0 once more, but a different table.
    shutil.rmtree(path)
    write_deltalake(path, pa.table({"a": [7, 8, 9]}))
    assert sorted(delta_dataset(path).to_table()["a"].to_pylist()) == [7, 8, 9]
