"""The ``transform`` flow: bronze gate -> dbt silver -> silver gate -> dbt gold -> stage ->
gold gate -> publish (write-audit-publish), recording each gate and the run.

Nothing downstream of a failed gate runs, and a failed gate never touches the published gold:
the gold build is staged in its own file (:func:`lakehouse.gold.stage_build`), audited, and only
then published by an atomic pointer swap (:func:`lakehouse.gold.publish_build`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import flow, task

from expectations.contract_expectations import BRONZE_ROWS, silver_key
from expectations.gate import ExpectationOutcome, GateResult, GateSuite, run_gate, suites_for
from expectations.scope import (
    Scope,
    count_rows,
    last_rows,
    scope_for,
    series_frame,
)
from lakehouse import gold
from lakehouse.alerts import on_flow_failure
from lakehouse.contracts import Contract, load_all
from lakehouse.dbt import (
    GOLD_SCHEMA,
    SILVER_SCHEMA,
    DbtResult,
    build_database,
    load_manifest,
    mart_models,
    run_dbt,
)
from lakehouse.orchestration import call, run_logger
from lakehouse.runs import new_run_id, record_run
from lakehouse.settings import Settings, get_settings
from lakehouse.transform_plan import (
    Plan,
    TransformSummary,
    finish,
    plan_transform,
)

# dbt selectors of the two builds: silver is the seeds (reference data a contract's models
# enable), staging and intermediate; gold the marts.
SILVER_SELECTOR = "path:seeds staging intermediate"
GOLD_SELECTOR = "marts"


class TransformFailed(RuntimeError):
    """A gate or a dbt build failed; ``summary`` says which and what was (not) published."""

    def __init__(self, message: str, summary: TransformSummary) -> None:
        super().__init__(message)
        self.summary = summary


# ---------------------------------------------------------------- Frames for the gates


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _register_bronze(con: Any, settings: Settings, table: str) -> str | None:
    """Register bronze ``table``'s dataset on ``con``; its relation name (None: no table)."""
    from deltalake.exceptions import TableNotFoundError

    from lakehouse.dbt_delta import delta_dataset

    relation = f"_gate_bronze_{table}"
    try:
        # The dataset dbt's source will reuse in this process (same table version).
        dataset = delta_dataset(settings.lake.uri(settings.lake.bronze(table)))
    except TableNotFoundError:
        return None
    con.register(relation, dataset)
    return _q(relation)


def _bronze_loader(
    con: Any, settings: Settings, contracts: dict[str, Contract], plan: Plan, full: bool
) -> Callable[[GateSuite], pd.DataFrame | None]:
    def load(suite: GateSuite) -> pd.DataFrame | None:
        entity = contracts[suite.source].entity(suite.entity)
        relation = _register_bronze(con, settings, suite.table)
        if relation is None:
            return None
        types = dict(
            con.execute(f"select column_name, column_type from (describe {relation})").fetchall()
        )
        partition = entity.partition_by if types.get(entity.partition_by) == "DATE" else None
        series = list(suite.series or entity.key_fields)
        frame = series_frame(
            con,
            relation,
            key=list(entity.natural_key),
            series=series,
            time=entity.event_time.column,
            scope=scope_for(plan.published, suite.table, full),
            partition_date=partition,
        )
        if frame is None and plan.tables[suite.table].quarantined_since_publish:
            # Nothing new, yet a bronze run rejected rows: validate each series' last row so
            # the run's quarantine rate is gated (those rows passed before and pass again).
            frame = last_rows(con, relation, series, entity.event_time.column)
        return frame

    return load


def _silver_loader(
    con: Any, settings: Settings, contracts: dict[str, Contract], plan: Plan, full: bool
) -> Callable[[GateSuite], tuple[pd.DataFrame, dict[str, Any]] | None]:
    def load(suite: GateSuite) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        entity = contracts[suite.source].entity(suite.entity)
        scope = scope_for(plan.published, entity.bronze_table, full)
        relation = f"{_q(SILVER_SCHEMA)}.{_q(suite.table)}"
        bronze = _register_bronze(con, settings, entity.bronze_table)
        bronze_rows = count_rows(con, bronze, scope) if bronze else 0
        frame = series_frame(
            con,
            relation,
            key=silver_key(entity),
            series=[],
            time=entity.event_time.column,
            scope=scope,
            with_previous=False,
        )
        if frame is None:
            if bronze_rows == 0:
                return None
            frame = con.execute(f"select * from {relation} limit 0").df()
        return frame, {BRONZE_ROWS: bronze_rows}

    return load


def _gold_loader(con: Any) -> Callable[[GateSuite], pd.DataFrame]:
    def load(suite: GateSuite) -> pd.DataFrame:
        return con.execute(f"select * from main.{_q(suite.table)}").df()

    return load


def dbt_test_outcomes(result: DbtResult) -> list[ExpectationOutcome]:
    """The data tests of a dbt build as gate outcomes (``gold.<model>: <test>(column=c)``)."""
    out = []
    for node in result.nodes:
        if node["resource_type"] != "test" or node["status"] not in {
            "pass",
            "fail",
            "warn",
            "error",
        }:
            continue
        label = node.get("test") or node["name"]
        if node.get("column"):
            label += f"(column={node['column']})"
        if node["status"] in {"fail", "error", "runtime error"} and node.get("failures"):
            label += f": {node['failures']} rows"
        out.append(
            ExpectationOutcome(
                suite=f"gold.{node.get('model') or node['name']}",
                name=f"dbt {label}",
                success=node["status"] == "pass",
                severity="warning" if node["status"] == "warn" else "critical",
            )
        )
    return out


# ---------------------------------------------------------------- Tasks


def _describe_scope(plan: Plan, source: str, full: bool) -> str:
    """``all rows`` or ``rows ingested after <ts>`` (per table when a source has several)."""
    scopes = {
        t.table: scope_for(plan.published, t.table, full).describe()
        for t in plan.tables.values()
        if t.source == source
    }
    if len(set(scopes.values())) <= 1:
        return next(iter(scopes.values()), Scope().describe())
    return "; ".join(f"{table}: {text}" for table, text in scopes.items())


@task(name="gate")
def gate_task(
    settings: Settings,
    layer: str,
    run_id: str,
    build: gold.Build | None = None,
    full_refresh: bool = False,
    plan: Plan | None = None,
    extra: list[ExpectationOutcome] | None = None,
) -> GateResult:
    """Validate one layer with its suites and record the gate run, one record per source.

    A full run validates every row; an incremental one the rows bronze wrote since the
    published gold was built (see :mod:`expectations.scope`), so a gate costs what the new data
    costs. Bronze and silver suites are generated from the contracts; gold's checks are the
    marts' dbt data tests (``extra``) and any suite a mart declares in its yml ``meta``.
    """
    import duckdb

    contracts = load_all()
    # Callers other than the flow (the benchmark) may leave the plan to this task.
    plan = plan or plan_transform(settings, contracts, full_refresh)
    full = full_refresh or plan.published is None
    if layer == "bronze":
        suites = [s for s in suites_for("bronze") if s.table in plan.tables]
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            loader = _bronze_loader(con, settings, contracts, plan, full)
            result = run_gate(settings.lake, layer, loader, suites)
    elif layer == "silver":
        suites = [s for s in suites_for("silver") if s.source in plan.sources]
        with duckdb.connect(str(build_database(settings)), read_only=True) as con:
            con.execute("set TimeZone = 'UTC'")
            loader = _silver_loader(con, settings, contracts, plan, full)
            result = run_gate(settings.lake, layer, loader, suites)
    else:
        assert build is not None, "the gold gate audits a staged build"
        manifest = load_manifest(settings)
        suites = [s for s in suites_for("gold", manifest) if s.table in build.rows]
        with gold.open_build(build) as con:
            con.execute("set TimeZone = 'UTC'")
            result = run_gate(settings.lake, layer, _gold_loader(con), suites, extra=extra)
    for source in plan.sources:
        # Gold marts are shared by the sources that feed them: each source's record holds them.
        mine = result.for_source(source) if layer != "gold" else result
        record_run(
            settings.lake,
            "gate",
            source,
            status="ok" if mine.passed else "failed",
            gate=layer,
            transform_run_id=run_id,
            build_id=build.build_id if build else None,
            failed_expectations=mine.failed,
            scope=_describe_scope(plan, source, full),
            **mine.as_record(),
        )
    return result


@task(name="dbt-build")
def dbt_build_task(
    settings: Settings,
    selector: str,
    full_refresh: bool = False,
    quiet: bool = True,
    sources: list[str] | None = None,
) -> DbtResult:
    """``dbt build`` (models, data tests and unit tests) of one selection.

    ``quiet``: dbt prints errors only; its whole log goes to ``<lake>/_state/dbt/logs``.
    ``sources``: build only these sources' models (the others' contracts are not passed, so
    their models are disabled); the transform passes the sources that have bronze tables, so
    a registered source that has not been loaded yet breaks no build. None: every contract.
    """
    args = ["build", "--select", *selector.split()]
    if full_refresh:
        args.append("--full-refresh")
    extra = None
    if sources is not None:
        from lakehouse.dbt import contract_vars, staging_models

        extra = {
            "contracts": {k: v for k, v in contract_vars().items() if k in sources},
            "staging_models": [m.name for m in staging_models() if m.source in sources],
        }
    return run_dbt(settings, args, extra_vars=extra, quiet=quiet)


@task(name="stage-gold")
def stage_gold_task(settings: Settings, build_id: str) -> gold.Build:
    """Copy the marts dbt just built into a new, unpublished gold build."""
    import duckdb

    with duckdb.connect(str(build_database(settings)), read_only=True) as con:
        built = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [GOLD_SCHEMA],
            ).fetchall()
        }
    # The project's marts as dbt knows them (a mart whose model was deleted is left behind).
    known = set(mart_models(load_manifest(settings), GOLD_SCHEMA)) or built
    marts = sorted(built & known)
    return gold.stage_build(settings, build_database(settings), GOLD_SCHEMA, marts, build_id)


@task(name="publish-gold")
def publish_task(
    settings: Settings, build: gold.Build, run_id: str, plan: Plan | None = None
) -> dict[str, Any]:
    """Make the audited build the published gold (atomic pointer swap).

    The pointer keeps what the build was made from: each bronze table's watermark (the next
    incremental run validates only rows after it, and a run with nothing newer is a no-op) and
    the fingerprint of the dbt project and contracts.
    """
    # The flow's plan was made before the bronze gate; a plan made now could name rows that
    # arrived after the build read bronze (only the benchmark publishes without one).
    plan = plan or plan_transform(settings, load_all(), False)
    return gold.publish_build(
        settings,
        build,
        transform_run_id=run_id,
        watermarks=plan.watermarks(),
        code_fingerprint=plan.fingerprint,
    )


def after_lake_publish(settings: Settings, pointer: dict[str, Any]) -> list[dict[str, Any]]:
    """Steps that run only after the lake's gold was published, in order.

    Each returns a small dict for the summary. Coordination note for the warehouse part: call
    "publish to the warehouse if running/configured" here; it reads the published gold through
    lakehouse.gold.read_marts, so it sees exactly the build in ``pointer``.
    """
    from lakehouse.warehouse.publish import publish_after_lake

    return [publish_after_lake(settings, pointer["build_id"])]


# ---------------------------------------------------------------- Flow


@flow(name="transform", log_prints=True, on_failure=[on_flow_failure])
def transform(
    lake_root: str | None = None, full_refresh: bool = False, verbose: bool = False
) -> dict[str, Any]:
    """Gate bronze, build silver and gold with dbt, audit the gold build and publish it.

    A run that finds nothing new in bronze since the published gold (same dbt project and
    contracts) does nothing: no dbt, no gates, status ``skipped``.

    Args:
        lake_root: Lake to transform; the settings' lake by default.
        full_refresh: Rebuild incremental models (staging, the hourly fact) from scratch and
            let the gates validate every row instead of the rows newer than the published gold.
        verbose: let dbt print its own progress (otherwise errors only; its log is kept under
            ``<lake>/_state/dbt/logs`` either way).

    Returns:
        The transform summary (see :class:`TransformSummary`).

    Raises:
        TransformFailed: a gate or dbt build failed; the published gold is unchanged.
    """
    logger = run_logger("transform")
    settings = get_settings(lake_root=lake_root)
    started = time.monotonic()
    run_id = new_run_id()
    summary = TransformSummary(run_id=run_id)
    previous = gold.published_pointer(settings)
    summary.published_build_id = previous["build_id"] if previous else None
    contracts = load_all()
    plan = plan_transform(settings, contracts, full_refresh)
    summary.sources = plan.sources or sorted(contracts)

    if plan.noop_reason:
        summary.status = "skipped"
        summary.reason = plan.noop_reason
        finish(settings, summary, started)
        logger.info("transform skipped: %s", plan.noop_reason)
        return summary.as_dict()

    def fail(step: str, message: str, expectations: list[str] | None = None) -> TransformFailed:
        summary.status = "failed"
        summary.failed_step = step
        summary.failed_expectations = expectations or []
        summary.error = message
        finish(settings, summary, started)
        logger.warning("transform failed at %s: %s", step, message)
        return TransformFailed(message, summary)

    def gate(
        layer: str, build: gold.Build | None = None, extra: list[ExpectationOutcome] | None = None
    ) -> None:
        result = call(gate_task, settings, layer, run_id, build, full_refresh, plan, extra)
        summary.gates[layer] = result.as_record()
        summary.data_docs = str(result.data_docs)
        summary.warnings += [w for w in result.warnings if w not in summary.warnings]
        for warning in result.warnings:
            logger.warning("gate %s warning: %s", layer, warning)
        if not result.passed:
            if build is not None:
                gold.discard_build(build)
            raise fail(
                f"gate:{layer}",
                f"{layer} gate failed: {'; '.join(result.failed)}",
                result.failed,
            )

    def build(step: str, selector: str) -> DbtResult:
        result = call(
            dbt_build_task,
            settings,
            selector,
            full_refresh,
            quiet=not verbose,
            sources=plan.sources,
        )
        summary.dbt[step] = {
            "success": result.success,
            "nodes": len(result.nodes),
            "models": sum(1 for n in result.nodes if n["resource_type"] == "model"),
            "data_tests": sum(1 for n in result.nodes if n["resource_type"] == "test"),
            "unit_tests": sum(1 for n in result.nodes if n["resource_type"] == "unit_test"),
            "failures": result.failures,
        }
        return result

    gate("bronze")
    silver = build("silver", SILVER_SELECTOR)
    if not silver.success:
        raise fail("dbt:silver", f"dbt build of silver failed: {'; '.join(silver.failures)}")
    gate("silver")
    marts = build("gold", GOLD_SELECTOR)
    tests = dbt_test_outcomes(marts)
    failed_tests = [o for o in tests if not o.success and o.severity == "critical"]
    failed_other = [
        n
        for n in marts.nodes
        if n["status"] in {"error", "fail", "runtime error"} and n["resource_type"] != "test"
    ]
    if not marts.success and (failed_other or not failed_tests):
        raise fail("dbt:gold", f"dbt build of gold failed: {'; '.join(marts.failures)}")
    if failed_tests:
        # A mart's own checks failed: the gold gate, decided by its dbt data tests.
        result = GateResult(layer="gold", passed=False, outcomes=tests, evaluated=len(tests))
        result.failed = [f"{o.suite}: {o.name}" for o in failed_tests]
        summary.gates["gold"] = result.as_record()
        for source in plan.sources:
            record_run(
                settings.lake,
                "gate",
                source,
                status="failed",
                gate="gold",
                transform_run_id=run_id,
                failed_expectations=result.failed,
                **result.as_record(),
            )
        raise fail("gate:gold", f"gold gate failed: {'; '.join(result.failed)}", result.failed)
    staged = call(stage_gold_task, settings, f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{run_id[-8:]}")
    summary.build_id = staged.build_id
    summary.marts = staged.rows
    gate("gold", staged, tests)
    pointer = call(publish_task, settings, staged, run_id, plan)
    summary.published = True
    summary.published_build_id = pointer["build_id"]
    summary.downstream = after_lake_publish(settings, pointer)
    summary.status = "ok"
    finish(settings, summary, started)
    logger.info("published gold build %s (%s rows)", staged.build_id, sum(staged.rows.values()))
    return summary.as_dict()


if __name__ == "__main__":
    # Transform the default lake (run ingest and bronze first).
    print(transform())
