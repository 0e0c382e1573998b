"""The gate runner: validate a layer's tables with their suites and decide pass or fail.

Each table's frame (pandas) is validated through GX's chain Data Source -> dataframe Asset ->
whole-dataframe Batch Definition -> ValidationDefinition -> Checkpoint, with the frame passed as
batch parameters. The file context lives under ``<lake>/_state/gx`` and every gate updates the
Data Docs site at ``<lake>/docs/data_docs`` once for all its suites. Expectations of severity
``warning`` (freshness) are reported but never fail a gate.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from expectations import checks
from expectations import contract_expectations as ce
from lakehouse.contracts import Contract, load_all
from lakehouse.lake import Lake

DATA_DOCS_SITE = "lakehouse"
DATASOURCE = "lakehouse_frames"
LAYERS = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class GateSuite:
    """One table's suite, generated from a contract or declared with a mart.

    Attributes:
        name: ``<layer>.<table>`` (``bronze.<src>__<entity>``, ``silver.stg_<src>__<entity>``).
        layer: bronze, silver or gold.
        table: the table the frame comes from (bronze table, staging model or mart).
        source: the contract it belongs to (gold: the first source feeding the mart).
        entity: the contract entity (None for a declared mart suite).
        expectations: builds the expectation list.
        series / time / every: the cadence of the entity (continuity and gaps), if any.
    """

    name: str
    layer: str
    table: str
    source: str | None
    entity: str | None
    expectations: Callable[[], list[Any]]
    series: tuple[str, ...] = ()
    time: str | None = None
    every: str | None = None
    sources: tuple[str, ...] = ()

    def suite(self) -> Any:
        return ce.build_suite(self.name, self.expectations())

    def prepare(self, df: pd.DataFrame, lake: Lake) -> pd.DataFrame:
        """Add the derived ``_gate_*`` columns this suite's expectations read."""
        if self.layer != "bronze" or self.source is None or self.entity is None:
            return df
        if self.every is not None and self.time is not None:
            df = checks.with_steps_since_previous(df, list(self.series), self.time, self.every)
        df = checks.with_run_quarantine_rate(df, lake, self.source, self.entity)
        return checks.with_newest_fetch_age(df, ce.FETCHED_AT)

    def gaps(self, df: pd.DataFrame) -> list[dict[str, Any]]:
        if self.every is None or self.time is None or df.empty:
            return []
        return checks.find_gaps(df, list(self.series), self.time, self.every)


def bronze_suites(contracts: Mapping[str, Contract] | None = None) -> list[GateSuite]:
    """One generated suite per contract entity, over its bronze table."""
    out = []
    for source, contract in sorted((contracts or load_all()).items()):
        for name, entity in contract.entities.items():
            out.append(
                GateSuite(
                    name=f"bronze.{entity.bronze_table}",
                    layer="bronze",
                    table=entity.bronze_table,
                    source=source,
                    entity=name,
                    expectations=lambda c=contract, n=name: ce.bronze_expectations(c, n),
                    series=tuple(entity.cadence.per) if entity.cadence else (),
                    time=entity.event_time.column if entity.cadence else None,
                    every=entity.cadence.every if entity.cadence else None,
                    sources=(source,),
                )
            )
    return out


def silver_suites(
    staging: list[Any] | None = None, contracts: Mapping[str, Contract] | None = None
) -> list[GateSuite]:
    """One generated suite per staging model that reads a contract entity (by its name)."""
    from lakehouse.dbt import staging_models

    contracts = contracts or load_all()
    out = []
    for model in staging if staging is not None else staging_models():
        entity = contracts[model.source].entity(model.entity)
        out.append(
            GateSuite(
                name=f"silver.{model.name}",
                layer="silver",
                table=model.name,
                source=model.source,
                entity=model.entity,
                expectations=lambda e=entity: ce.silver_expectations(e),
                sources=(model.source,),
            )
        )
    return out


def declared_suites(manifest: Mapping[str, Any]) -> list[GateSuite]:
    """Suites declared with the marts: ``meta: {gate: {expectations: [...]}}`` in a model's yml.

    Most checks of a mart are dbt data tests that ``dbt build`` runs; a declared suite is for a
    check dbt cannot express, validated by GX on the staged gold build.
    """
    from lakehouse.dbt import mart_models, mart_sources

    out = []
    for name, node in sorted(mart_models(dict(manifest)).items()):
        meta = {**(node.get("config") or {}).get("meta", {}), **(node.get("meta") or {})}
        declared = (meta.get("gate") or {}).get("expectations")
        if not declared:
            continue
        sources = tuple(mart_sources(dict(manifest), name))
        out.append(
            GateSuite(
                name=f"gold.{name}",
                layer="gold",
                table=name,
                source=sources[0] if sources else None,
                entity=None,
                expectations=lambda d=declared: ce.declared_expectations(d),
                sources=sources,
            )
        )
    return out


def suites_for(layer: str, manifest: Mapping[str, Any] | None = None) -> list[GateSuite]:
    """The suites of ``layer``: generated (bronze, silver) or declared with the marts (gold)."""
    if layer == "bronze":
        return bronze_suites()
    if layer == "silver":
        return silver_suites()
    if layer == "gold":
        return declared_suites(manifest or {})
    raise ValueError(f"no gate for layer {layer!r}; gates are {', '.join(LAYERS)}")


@dataclass
class ExpectationOutcome:
    """One evaluated expectation (or dbt data test of a mart)."""

    suite: str
    name: str
    success: bool
    severity: str
    observed: Any = None
    source: str | None = None


@dataclass
class GateResult:
    """Outcome of one layer's gate.

    Attributes:
        layer: bronze, silver or gold.
        passed: False when any critical expectation failed.
        failed: names of failed critical expectations (``<suite>: <expectation>(column=...)``).
        warnings: failed warning-level expectations; a continuity warning names each series
            and its missing range (``... gap: site_id=a: 3 missing, A..B``).
        evaluated: number of expectations evaluated.
        gaps: per suite, the gaps found (``{"suite", "series", "missing", "from", "to"}``).
        rows_validated: rows of each table's frame (0: nothing in scope, suite not run).
        data_docs: index page of the Data Docs site.
    """

    layer: str
    passed: bool
    failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    evaluated: int = 0
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    rows_validated: dict[str, int] = field(default_factory=dict)
    suites: dict[str, str | None] = field(default_factory=dict)
    # GX validation result id -> suite name (the site matches stored results by these).
    validations: dict[str, str] = field(default_factory=dict)
    data_docs: Path | None = None

    def as_record(self) -> dict[str, Any]:
        """JSON-ready form for run records."""
        return {
            "layer": self.layer,
            "passed": self.passed,
            "failed": self.failed,
            "warnings": self.warnings,
            "evaluated": self.evaluated,
            "gaps": self.gaps,
            "rows_validated": self.rows_validated,
            "validation_ids": list(self.validations),
            "data_docs": str(self.data_docs) if self.data_docs else None,
        }

    def for_source(self, source: str) -> GateResult:
        """The part of this result that concerns one source (its suites and tests)."""
        suites = {name for name, src in self.suites.items() if src == source}
        outcomes = [o for o in self.outcomes if o.source == source or o.suite in suites]
        mine = _decide(
            self.layer,
            outcomes,
            gaps=[g for g in self.gaps if g.get("suite") in suites],
            rows={t: n for t, n in self.rows_validated.items() if f"{self.layer}.{t}" in suites},
            suites={n: s for n, s in self.suites.items() if n in suites},
            data_docs=self.data_docs,
        )
        mine.validations = {v: n for v, n in self.validations.items() if n in suites}
        return mine


def _decide(
    layer: str,
    outcomes: list[ExpectationOutcome],
    *,
    gaps: list[dict[str, Any]],
    rows: dict[str, int],
    suites: dict[str, str | None],
    data_docs: Path | None,
) -> GateResult:
    failed = [
        f"{o.suite}: {o.name}" for o in outcomes if not o.success and o.severity == "critical"
    ]
    warnings = []
    for o in outcomes:
        if o.success or o.severity == "critical":
            continue
        if f"column={ce.STEPS_SINCE_PREVIOUS}" in o.name:
            mine = [g for g in gaps if g.get("suite") == o.suite]
            warnings += [f"{o.suite}: gap: {checks.describe_gap(g)}" for g in mine] or [
                f"{o.suite}: {o.name}"
            ]
        else:
            warnings.append(f"{o.suite}: {o.name}")
    return GateResult(
        layer=layer,
        passed=not failed,
        failed=failed,
        warnings=warnings,
        evaluated=len(outcomes),
        outcomes=outcomes,
        gaps=gaps,
        rows_validated=rows,
        suites=suites,
        data_docs=data_docs,
    )


def data_docs_dir(lake: Lake) -> Path:
    return lake.docs / "data_docs"


def _context(lake: Lake):
    import great_expectations as gx

    # GX logs every store write at INFO; the gate's own summary is what users read.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    root = lake.state / "gx"
    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    # Progress bars would interleave with the CLI's own output on every metric batch.
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    sites = context.get_config().data_docs_sites or {}
    if DATA_DOCS_SITE not in sites:
        context.add_data_docs_site(
            DATA_DOCS_SITE,
            {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_dir(lake)),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return context


def expectation_label(config: Any) -> str:
    """``expect_x(column=a)``-style label of an expectation configuration."""
    kwargs = {
        k: v
        for k, v in (config.kwargs or {}).items()
        if k in {"column", "column_list", "column_A", "column_B"}
    }
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{config.type}({args})"


def _expectations_key(suite: Any) -> str:
    """The suite's expectations without their store ids, to tell whether it changed."""
    configs = []
    for expectation in suite.expectations:
        config = expectation.configuration.to_json_dict()
        config.pop("id", None)
        configs.append(config)
    return json.dumps(configs, sort_keys=True, default=str)


def _register(context: Any, gate_suite: GateSuite) -> Any:
    """The stored checkpoint of a suite, (re)registered only when the suite changed.

    GX's ``add_or_update`` compares every expectation with every other one and rewrites the
    stores, about a second per suite; a gate of a few new rows would mostly pay for that.
    """
    import great_expectations as gx

    suite = gate_suite.suite()
    name = gate_suite.name
    checkpoint_name = f"gate.{name}"
    try:
        stored = context.suites.get(name)
        checkpoint = context.checkpoints.get(checkpoint_name)
        if (
            _expectations_key(stored) == _expectations_key(suite)
            and not checkpoint.actions
            and [v.suite.id for v in checkpoint.validation_definitions] == [stored.id]
        ):
            return checkpoint
    except Exception:  # noqa: BLE001 - missing or unreadable: register it afresh below
        pass
    suite = context.suites.add_or_update(suite)
    datasource = context.data_sources.add_or_update_pandas(name=DATASOURCE)
    try:
        asset = datasource.get_asset(name)
    except LookupError:
        asset = datasource.add_dataframe_asset(name=name)
    try:
        batch_definition = asset.get_batch_definition("whole_frame")
    except (KeyError, LookupError):
        batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
    )
    # No actions: the gate builds Data Docs once for all its suites (see run_gate).
    return context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=checkpoint_name,
            validation_definitions=[validation],
            actions=[],
            result_format="SUMMARY",
        )
    )


def run_suite(
    context: Any,
    lake: Lake,
    gate_suite: GateSuite,
    frame: pd.DataFrame,
    docs: list[Any] | None = None,
    parameters: dict[str, Any] | None = None,
) -> tuple[list[ExpectationOutcome], list[dict[str, Any]], list[str]]:
    """Validate one table's frame with its suite through a checkpoint.

    Data Docs are updated for this result at once, or, when ``docs`` is a list, its result and
    suite identifiers are appended there for one later build (:func:`build_data_docs`).
    ``parameters`` fill the suite's ``$PARAMETER`` values (silver: bronze's row count).

    Returns:
        The outcomes, the gaps of the frame's series (empty without a cadence) and the ids of
        the stored validation results.
    """
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    frame = gate_suite.prepare(frame, lake)
    checkpoint = _register(context, gate_suite)
    result = checkpoint.run(
        batch_parameters={"dataframe": frame}, expectation_parameters=parameters or None
    )
    identifiers: list[Any] = []
    validation_ids: list[str] = []
    for identifier, suite_result in result.run_results.items():
        identifiers += [identifier, ExpectationSuiteIdentifier(name=suite_result.suite_name)]
        validation_id = (suite_result.meta or {}).get("validation_id")
        if validation_id:
            validation_ids.append(str(validation_id))
    if docs is None:
        build_data_docs(context, identifiers)
    else:
        docs.extend(identifiers)
    outcomes = []
    for suite_result in result.run_results.values():
        for item in suite_result.results:
            config = item.expectation_config
            severity = str(getattr(config, "severity", "critical") or "critical")
            outcomes.append(
                ExpectationOutcome(
                    suite=gate_suite.name,
                    name=expectation_label(config),
                    success=bool(item.success),
                    severity=severity.rsplit(".", 1)[-1].lower(),
                    observed=(item.result or {}).get("observed_value"),
                    source=gate_suite.source,
                )
            )
    gaps = [{"suite": gate_suite.name, **g} for g in gate_suite.gaps(frame)]
    return outcomes, gaps, validation_ids


def build_data_docs(context: Any, identifiers: list[Any]) -> None:
    """Render the pages of ``identifiers`` and the index of the gates' Data Docs site."""
    if identifiers:
        context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=identifiers)


# A frame loader returns the suite's frame, or None when nothing is in scope (not validated),
# or a (frame, parameters) pair when the suite has $PARAMETER values.
FrameLoader = Callable[[GateSuite], "pd.DataFrame | tuple[pd.DataFrame, dict[str, Any]] | None"]


def run_gate(
    lake: Lake,
    layer: str,
    frames: Mapping[str, pd.DataFrame] | FrameLoader,
    suites: list[GateSuite] | None = None,
    extra: list[ExpectationOutcome] | None = None,
) -> GateResult:
    """Validate every table of ``layer`` and decide whether the gate passes.

    Args:
        lake: the lake (GX state and Data Docs live under it).
        layer: ``bronze``, ``silver`` or ``gold``.
        frames: the table frames by table name, or a function loading a suite's frame (None:
            nothing of that table is in the gate's scope, so its suite is not run).
        suites: the suites to run; by default those of :func:`suites_for` (gold: none
            declared without a manifest).
        extra: outcomes decided elsewhere that count for this gate (gold: the marts' dbt data
            tests, run by ``dbt build``).

    Returns:
        The gate result; ``passed`` is False when any critical expectation failed.
    """
    if layer not in LAYERS:
        raise ValueError(f"no gate for layer {layer!r}; gates are {', '.join(LAYERS)}")
    suites = suites if suites is not None else suites_for(layer)
    outcomes: list[ExpectationOutcome] = list(extra or [])
    gaps: list[dict[str, Any]] = []
    rows: dict[str, int] = {}
    docs: list[Any] = []
    validations: dict[str, str] = {}
    context = _context(lake) if suites else None
    for gate_suite in suites:
        loaded = frames(gate_suite) if callable(frames) else frames.get(gate_suite.table)
        if loaded is None:
            rows[gate_suite.table] = 0
            continue
        frame, parameters = loaded if isinstance(loaded, tuple) else (loaded, None)
        rows[gate_suite.table] = len(frame)
        found, suite_gaps, ids = run_suite(context, lake, gate_suite, frame, docs, parameters)
        validations.update(dict.fromkeys(ids, gate_suite.name))
        outcomes.extend(found)
        gaps.extend(suite_gaps)
    if context is not None:
        # One site build (pages and index) per gate rather than one per suite.
        build_data_docs(context, docs)
    result = _decide(
        layer,
        outcomes,
        gaps=gaps,
        rows=rows,
        suites={s.name: s.source for s in suites},
        data_docs=data_docs_dir(lake) / "index.html",
    )
    result.validations = validations
    return result
