"""Prefect flows ``<source>-bronze``: new landing objects of a source into its bronze Delta tables.

Shows: one flow per contract, built by :func:`bronze_flow` from the source name (a new source needs
a contract, not Python), one task per entity running the Spark job of
:mod:`spark.landing_to_bronze` in-process on a local Delta session (or the session of the worker,
if one is running), and a run record per entity written by the job.

Stages: Plan (per entity: list landing objects, compare with the ledger, no Spark) -> Session
(local Spark with Delta, quiet; only when there is new work) -> Transform+Load (read new objects,
parse by layout, validate, MERGE into bronze, quarantine rejects) -> Result (the run records).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import Flow, flow, task
from prefect.cache_policies import NO_CACHE

from lakehouse import catalog
from lakehouse.alerts import on_flow_failure
from lakehouse.contracts import available_sources, load_contract
from lakehouse.orchestration import call
from lakehouse.settings import Settings, get_settings

# ---------------------------------------------------------------- Transform + Load


@task(name="landing-to-bronze", task_run_name="bronze-{source}-{entity}", cache_policy=NO_CACHE)
def landing_to_bronze(source: str, entity: str, settings: Settings) -> dict[str, Any]:
    """Run the bronze Spark job for one entity and return its run record fields."""
    # Spark is imported here, not at module load: listing flows must not need a JVM.
    from spark.landing_to_bronze import run
    from spark.session import get_session

    # The session starts only when there are new objects: a run with nothing to do lists the
    # landing and reads the ledger in plain Python and returns in a second or two.
    result = asdict(
        run(lambda: get_session(settings, f"bronze-{source}"), settings.lake, source, entity)
    )
    if catalog.enabled(settings):
        # Athena queries bronze through Glue: the table's location and its current schema.
        partition = load_contract(source).entity(entity).partition_by
        registered = catalog.register_bronze(settings, result["table"], [partition])
        result["catalog"] = f"{registered.database}.{registered.table}" if registered else None
    return result


@task(name="topic-to-bronze", task_run_name="bronze-{source}-stream", cache_policy=NO_CACHE)
def topic_to_bronze(source: str, settings: Settings, follow: bool = False) -> list[dict[str, Any]]:
    """Run the streaming bronze job of a source whose records arrive on a Kafka topic."""
    from lakehouse.kafka import ensure_bootstrap
    from spark.kafka_to_bronze import run
    from spark.session import get_session

    results = run(
        lambda: get_session(settings, f"bronze-{source}"),
        settings.lake,
        source,
        bootstrap=ensure_bootstrap(settings),
        follow=follow,
        interval_s=settings.stream_interval_s,
        max_records_per_batch=settings.stream_max_records_per_batch,
    )
    return [asdict(r) for r in results]


# ---------------------------------------------------------------- Flow


def bronze_flow(source: str) -> Flow:
    """Build the ``<source>-bronze`` flow of a contract (one task per entity)."""
    contract = load_contract(source)

    def run_bronze(
        entities: list[str] | None = None, lake_root: str | None = None, follow: bool = False
    ) -> list[dict]:
        settings = get_settings(lake_root=lake_root)
        chosen = entities or list(contract.entities)
        unknown = sorted(set(chosen) - set(contract.entities))
        if unknown:
            raise ValueError(
                f"contract {source!r} has no entities {unknown}; it has {sorted(contract.entities)}"
            )
        results: list[dict] = []
        if contract.topic_landings:
            # The topics' entities load through the streaming job (it lands the records first).
            streamed = {
                e
                for landing in contract.topic_landings.values()
                for e in contract.entities_reading(landing)
            }
            if set(chosen) & set(streamed):
                streamed_results = call(topic_to_bronze, source, settings, follow)
                results += [r for r in streamed_results if r["entity"] in chosen]
            chosen = [e for e in chosen if e not in streamed]
        elif follow:
            raise ValueError(f"source {source!r} has no Kafka topic: --follow needs one")
        return results + [call(landing_to_bronze, source, entity, settings) for entity in chosen]

    run_bronze.__doc__ = (
        f"Load new landing objects of source {source!r} into bronze, one task per entity.\n\n"
        "A source whose records arrive on a Kafka topic runs the streaming job instead.\n\n"
        "Args:\n"
        "    entities: entities to load (default: every entity of the contract).\n"
        "    lake_root: lake folder or URI (default: LAKEHOUSE_LAKE_ROOT).\n"
        "    follow: keep reading the topic until stopped (topic sources only).\n"
    )
    return flow(name=f"{source}-bronze", log_prints=True, on_failure=[on_flow_failure])(run_bronze)


FLOWS: dict[str, Flow] = {source: bronze_flow(source) for source in available_sources()}
for _source, _flow in FLOWS.items():
    # Deployment entrypoints name a module attribute: flows/bronze.py:<source>_bronze.
    globals()[f"{_source}_bronze"] = _flow


def __getattr__(name: str) -> Flow:
    """``<source>_bronze`` for a contract added after import (``LAKEHOUSE_CONTRACTS_DIR``)."""
    if name.endswith("_bronze") and name[: -len("_bronze")] in available_sources():
        return bronze_flow(name[: -len("_bronze")])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    import sys

    # python -m flows.bronze <source>: that source's landing -> bronze on the local lake.
    print(bronze_flow(sys.argv[1])())
