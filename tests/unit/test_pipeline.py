"""The daily-refresh pipeline's own parts: the lake lock, step lookup and parameter passing.

The pipeline run itself (real flows, real Prefect server) is tested end to end in
``tests/e2e/test_prefect_deployments.py``.
"""

from __future__ import annotations

import sys
import types

import pytest

from flows.pipeline import _call, lake_lock, load_step_flow
from lakehouse.alerts import StepFailed
from lakehouse.settings import Settings


def test_a_second_run_fails_at_once_while_the_lock_is_held(settings: Settings) -> None:
    with lake_lock(settings.lake):
        with pytest.raises(StepFailed) as failed:
            with lake_lock(settings.lake):
                pass  # pragma: no cover - never entered
    assert failed.value.step == "lock"
    assert "another daily-refresh run is in progress" in failed.value.reason
    assert "pid=" in failed.value.reason
    # Released on exit: the next run gets it.
    with lake_lock(settings.lake):
        pass


def test_missing_step_module_or_flow_is_a_setup_failure() -> None:
    with pytest.raises(StepFailed) as failed:
        load_step_flow("flows.no_such_source", "no_such_source_ingest", "no_such_source")
    assert failed.value.step == "setup"
    assert "flows.no_such_source is missing" in failed.value.reason
    with pytest.raises(StepFailed, match="has no flow nothing_bronze"):
        load_step_flow("flows.bronze", "nothing_bronze", "nothing")


def test_per_source_flows_come_from_a_flows_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("flows_under_test")

    def demo_flow() -> str:
        return "ran"

    module.FLOWS = {"demo": demo_flow}
    monkeypatch.setitem(sys.modules, "flows_under_test", module)
    assert load_step_flow("flows_under_test", "demo_bronze", "demo") is demo_flow


def test_call_passes_only_the_parameters_a_flow_accepts() -> None:
    seen = {}

    def step(start_date=None, base_url=None):
        seen.update(start_date=start_date, base_url=base_url)
        return "done"

    assert _call(step, "ingest", start_date="2025-03-05", end_date=None, sources=["x"]) == "done"
    assert seen == {"start_date": "2025-03-05", "base_url": None}


def test_a_backfill_fetches_a_source_without_a_date_window_once_without_dates(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    import shutil
    from pathlib import Path

    from flows.pipeline import _run_all

    root = Path(__file__).parents[2]
    flights = root / "lakehouse" / "contracts" / "flights.yml"
    if not flights.is_file():  # the draft, until the source is registered
        flights = root / "tests" / "fixtures" / "contracts" / "flights.yml"
    shutil.copyfile(root / "lakehouse" / "contracts" / "weather.yml", tmp_path / "weather.yml")
    shutil.copyfile(flights, tmp_path / "flights.yml")
    monkeypatch.setenv("LAKEHOUSE_CONTRACTS_DIR", str(tmp_path))
    calls: list[tuple[str, str | None, dict]] = []

    def run_step(step, source, module, attribute, **kwargs):
        calls.append((step, source, kwargs))

    _run_all(run_step, ["weather", "flights"], "2025-03-05", "2025-03-11", None, True, False)
    ingests = [(source, kw.get("start_date")) for step, source, kw in calls if step == "ingest"]
    assert ingests == [("weather", "2025-03-05"), ("flights", None)]
