"""Flows run by the CLI without a Prefect API: plain calls with Prefect's retries and alerts."""

from __future__ import annotations

from datetime import date

import pytest
from prefect import flow, task
from prefect.states import Failed

from lakehouse import orchestration


@pytest.fixture
def direct(monkeypatch: pytest.MonkeyPatch) -> list:
    """Force the direct mode and collect the alerts it sends."""
    monkeypatch.setenv("LAKEHOUSE_ORCHESTRATOR", "none")
    monkeypatch.setenv("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "false")
    sent: list = []
    monkeypatch.setattr(
        "lakehouse.alerts.alert_failure",
        lambda name, exc, **kw: sent.append((name, exc, kw["message"])),
    )
    return sent


def test_mode_follows_the_setting_and_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_ORCHESTRATOR", "none")
    assert not orchestration.on_prefect()
    monkeypatch.setenv("LAKEHOUSE_ORCHESTRATOR", "prefect")
    assert orchestration.on_prefect()
    monkeypatch.setenv("LAKEHOUSE_ORCHESTRATOR", "auto")
    assert orchestration.on_prefect()  # the test session's Prefect API is configured
    monkeypatch.setenv("LAKEHOUSE_ORCHESTRATOR", "sometimes")
    with pytest.raises(ValueError, match="LAKEHOUSE_ORCHESTRATOR='sometimes'"):
        orchestration.on_prefect()


def test_direct_run_coerces_parameters_and_returns_the_value(direct: list) -> None:
    @flow(name="days")
    def days(start_date: date, count: int = 1) -> list[str]:
        assert not orchestration.in_flow_run()
        orchestration.run_logger("days").info("a line without a Prefect run context")
        return [start_date.isoformat()] * count

    assert orchestration.run_flow(days, start_date="2025-03-05", count="2") == [
        "2025-03-05",
        "2025-03-05",
    ]
    assert direct == []


def test_task_retries_apply_without_prefect(direct: list) -> None:
    calls: list[int] = []

    @task(retries=2, retry_delay_seconds=0)
    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("brief outage")
        return "done"

    @flow(name="uses-flaky")
    def uses_flaky() -> str:
        return orchestration.call(flaky)

    assert orchestration.run_flow(uses_flaky) == "done"
    assert len(calls) == 3


def test_exhausted_retries_fail_the_run_and_alert_once(direct: list) -> None:
    @task(retries=1, retry_delay_seconds=[0])
    def broken() -> None:
        raise OSError("still down")

    @flow(name="uses-broken")
    def uses_broken() -> None:
        orchestration.call(broken)

    outcome = orchestration.run_flow(uses_broken)
    assert isinstance(outcome, OSError)
    assert [(name, str(exc)) for name, exc, _ in direct] == [("uses-broken", "still down")]


def test_a_returned_failed_state_is_a_failure_with_its_exception(direct: list) -> None:
    class Gate(RuntimeError):
        pass

    @flow(name="gated")
    def gated() -> object:
        return Failed(message="gate failed", data=Gate("gate failed"))

    @flow(name="outer")
    def outer() -> object:
        return orchestration.call(gated)

    assert isinstance(orchestration.run_flow(gated), Gate)
    assert isinstance(orchestration.run_flow(outer), Gate)  # a subflow's failure fails the caller
    assert [name for name, _, _ in direct] == ["gated", "outer"]


def test_retry_delays_read_as_prefect_reads_them() -> None:
    assert orchestration._delays(5, 2) == [5.0, 5.0]
    assert orchestration._delays([5, 30], 3) == [5.0, 30.0, 30.0]
    assert orchestration._delays(None, 1) == [0.0]
    assert orchestration._delays(10, 0) == []
