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
from types import ModuleType
from typing import Any

import pandas as pd

from expectations.bronze import weather__hourly as bronze_weather__hourly
from expectations.gold import agg_weather_city_summary as gold_agg_weather_city_summary
from expectations.gold import agg_weather_daily as gold_agg_weather_daily
from expectations.gold import fct_weather_hourly as gold_fct_weather_hourly
from expectations.silver import stg_weather__hourly as silver_stg_weather__hourly
from lakehouse.lake import Lake

DATA_DOCS_SITE = "lakehouse"
DATASOURCE = "lakehouse_frames"

# Suite modules per layer; each has NAME, TABLE, suite() and prepare(df, lake).
SUITES: dict[str, list[ModuleType]] = {
    "bronze": [bronze_weather__hourly],
    "silver": [silver_stg_weather__hourly],
    "gold": [gold_fct_weather_hourly, gold_agg_weather_daily, gold_agg_weather_city_summary],
}


@dataclass
class ExpectationOutcome:
    """One evaluated expectation."""

    suite: str
    name: str
    success: bool
    severity: str
    observed: Any = None


@dataclass
class GateResult:
    """Outcome of one layer's gate.

    Attributes:
        layer: bronze, silver or gold.
        passed: False when any critical expectation failed.
        failed: names of failed critical expectations (``<suite>: <expectation>``).
        warnings: names of failed warning-level expectations.
        evaluated: number of expectations evaluated.
        data_docs: index page of the Data Docs site.
    """

    layer: str
    passed: bool
    failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    evaluated: int = 0
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    data_docs: Path | None = None

    def as_record(self) -> dict[str, Any]:
        """JSON-ready form for run records."""
        return {
            "layer": self.layer,
            "passed": self.passed,
            "failed": self.failed,
            "warnings": self.warnings,
            "evaluated": self.evaluated,
            "data_docs": str(self.data_docs) if self.data_docs else None,
        }


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


def _register(context: Any, module: ModuleType) -> Any:
    """The stored checkpoint of ``module``'s suite, (re)registered only when the suite changed.

    GX's ``add_or_update`` compares every expectation with every other one and rewrites the
    stores, about a second per suite; a gate of a few new rows would mostly pay for that.
    """
    import great_expectations as gx

    suite = module.suite()
    checkpoint_name = f"gate.{module.NAME}"
    try:
        stored = context.suites.get(module.NAME)
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
        asset = datasource.get_asset(module.NAME)
    except LookupError:
        asset = datasource.add_dataframe_asset(name=module.NAME)
    try:
        batch_definition = asset.get_batch_definition("whole_frame")
    except (KeyError, LookupError):
        batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=module.NAME, data=batch_definition, suite=suite)
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
    module: ModuleType,
    frame: pd.DataFrame,
    docs: list[Any] | None = None,
) -> list[ExpectationOutcome]:
    """Validate one table's frame with its suite through a checkpoint.

    Data Docs are updated for this result at once, or, when ``docs`` is a list, its result and
    suite identifiers are appended there for one later build (:func:`build_data_docs`).
    """
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    frame = module.prepare(frame, lake)
    checkpoint = _register(context, module)
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    identifiers: list[Any] = []
    for identifier, suite_result in result.run_results.items():
        identifiers += [identifier, ExpectationSuiteIdentifier(name=suite_result.suite_name)]
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
                    suite=module.NAME,
                    name=expectation_label(config),
                    success=bool(item.success),
                    severity=severity.rsplit(".", 1)[-1].lower(),
                    observed=(item.result or {}).get("observed_value"),
                )
            )
    return outcomes


def build_data_docs(context: Any, identifiers: list[Any]) -> None:
    """Render the pages of ``identifiers`` and the index of the gates' Data Docs site."""
    if identifiers:
        context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=identifiers)


FrameLoader = Callable[[ModuleType], pd.DataFrame]


def run_gate(
    lake: Lake, layer: str, frames: Mapping[str, pd.DataFrame] | FrameLoader
) -> GateResult:
    """Validate every table of ``layer`` and decide whether the gate passes.

    Args:
        lake: the lake (GX state and Data Docs live under it).
        layer: ``bronze``, ``silver`` or ``gold``.
        frames: the table frames by table name, or a function loading a suite module's frame.

    Returns:
        The gate result; ``passed`` is False when any critical expectation failed.
    """
    if layer not in SUITES:
        raise ValueError(f"no gate for layer {layer!r}; gates are {', '.join(SUITES)}")
    context = _context(lake)
    outcomes: list[ExpectationOutcome] = []
    docs: list[Any] = []
    for module in SUITES[layer]:
        frame = frames(module) if callable(frames) else frames[module.TABLE]
        outcomes.extend(run_suite(context, lake, module, frame, docs))
    # One site build (pages and index) per gate rather than one per suite.
    build_data_docs(context, docs)
    failed = [
        f"{o.suite}: {o.name}" for o in outcomes if not o.success and o.severity == "critical"
    ]
    warnings = [
        f"{o.suite}: {o.name}" for o in outcomes if not o.success and o.severity != "critical"
    ]
    return GateResult(
        layer=layer,
        passed=not failed,
        failed=failed,
        warnings=warnings,
        evaluated=len(outcomes),
        outcomes=outcomes,
        data_docs=data_docs_dir(lake) / "index.html",
    )
