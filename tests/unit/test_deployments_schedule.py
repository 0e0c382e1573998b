"""A contract's ``schedule`` is the one owner of its cadence: prefect.yaml must not drift from it.

Every contract (of a kind with an ingester) has ``<source>-ingest`` deployments in prefect.yaml
whose entrypoint is its generic flow ``flows/ingest.py:<source>_ingest`` and whose one schedule
is the contract's ``schedule.cron`` in its ``schedule.timezone``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lakehouse.contracts import CONTRACTS_DIR, available_sources, load_contract
from lakehouse.sources import INGESTERS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    s
    for s in available_sources(CONTRACTS_DIR)
    if load_contract(s, CONTRACTS_DIR).source.kind in INGESTERS
]


def _deployments() -> list[dict]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


def ingest_deployments(source: str) -> list[dict]:
    return [
        d
        for d in _deployments()
        if d["name"] == f"{source}-ingest" or d["name"].startswith(f"{source}-ingest-")
    ]


@pytest.mark.parametrize("source", SOURCES)
def test_every_contract_has_ingest_deployments_on_its_own_schedule(source: str) -> None:
    contract = load_contract(source, CONTRACTS_DIR)
    deployments = ingest_deployments(source)
    assert deployments, (
        f"prefect.yaml has no {source}-ingest deployment; add one with entrypoint "
        f"flows/ingest.py:{source}_ingest and the contract's schedule "
        f"({contract.schedule.cron!r}, {contract.schedule.timezone})"
    )
    for deployment in deployments:
        assert deployment["entrypoint"] == f"flows/ingest.py:{source}_ingest", deployment["name"]
        schedules = deployment.get("schedules") or []
        assert [(s.get("cron"), s.get("timezone", "UTC")) for s in schedules] == [
            (contract.schedule.cron, contract.schedule.timezone)
        ], f"{deployment['name']} drifted from lakehouse/contracts/{source}.yml's schedule"


def test_weather_keeps_its_deployment_names() -> None:
    names = {d["name"] for d in _deployments()}
    assert {"weather-ingest", "weather-ingest-ecs", "daily-refresh", "daily-refresh-ecs"} <= names


def test_ingest_entrypoints_name_the_generic_flows() -> None:
    import flows.ingest

    for deployment in _deployments():
        path, _, attribute = deployment["entrypoint"].partition(":")
        if path != "flows/ingest.py":
            continue
        built = getattr(flows.ingest, attribute)
        assert built.name == attribute.replace("_ingest", "-ingest")
        source = attribute.removesuffix("_ingest")
        assert source in SOURCES, f"{deployment['name']}: no contract for source {source!r}"
