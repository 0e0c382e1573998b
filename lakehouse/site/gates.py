"""Gate results for the site's own "Quality gates" page, read as plain data from the lake.

Every gate of the last transform is shown from two sources, both written by the gates:

- its run record (``lakehouse.runs``, step ``gate``): layer, status, scope, rows validated per
  table, the names of failed expectations and warnings;
- Great Expectations' stored validation results (the JSON its checkpoints write into the
  validations store of the file context under ``<lake>/_state/gx``): every expectation with its
  result, observed value and the failing examples GX keeps.

A gate record names its stored results by ``validation_ids`` (GX's ``meta.validation_id``); a
record without them (written before the gate runner kept them) gets the results of its layer's
suites validated after the previous gate record and no later than its own (the gate writes its
record right after validating). Great Expectations is not imported and its HTML is not used:
the JSON is read tolerantly, and a missing field or file shows as missing on the page instead
of failing the site build.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.lake import Lake
from lakehouse.runs import list_runs

LAYERS = ("bronze", "silver", "gold")
# Where the gate runner keeps its Great Expectations file context (expectations/gate.py).
GX_STATE_DIR = "gx"
MAX_EXAMPLES = 10
MAX_LIST_ITEMS = 10

# kwargs that say which column an expectation is about, or nothing a reader needs.
_COLUMN_KWARGS = ("column", "column_list", "column_A", "column_B")
_HIDDEN_KWARGS = {
    "batch_id",
    "catch_exceptions",
    "include_config",
    "meta",
    "notes",
    "result_format",
    "rendered_content",
    "description",
}
# The gates' derived `_gate_*` columns (expectations/checks.py), said in words.
DERIVED_COLUMNS = {
    "_gate_hours_since_previous": "hours since the city's previous observation",
    "_gate_cadence_steps_since_previous": "cadence steps since the series' previous row",
    "_gate_run_quarantine_rate": "quarantine rate of the bronze run",
    "_gate_newest_fetch_age_hours": "age of the newest fetch in hours",
}


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation of one validation, ready to show."""

    label: str  # ``expect_x(column=a)``, the form of the gates' failure messages
    expectation: str
    column: str
    condition: str
    severity: str
    status: str  # passed, failed, warning (a failed non-critical one) or error
    observed: str
    examples: list[str] = field(default_factory=list)
    more_examples: int = 0
    error: str = ""

    @property
    def column_note(self) -> str:
        """What a derived ``_gate_*`` column measures, in words ("" for a table column)."""
        return DERIVED_COLUMNS.get(self.column, "")


@dataclass(frozen=True)
class SuiteResult:
    """One suite (one table) of a gate."""

    suite: str
    table: str
    status: str  # ok, warning, failed, skipped (nothing in scope) or unknown
    rows_validated: int | None = None
    validated_at: str | None = None
    expectations: list[ExpectationResult] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    has_details: bool = False
    raw_page: str | None = None  # GX's own page, relative to its Data Docs' validations/

    @property
    def anchor(self) -> str:
        return "suite-" + "".join(c if c.isalnum() or c in "-_." else "-" for c in self.suite)

    @property
    def evaluated(self) -> int | None:
        return len(self.expectations) if self.has_details else None

    @property
    def passed(self) -> int | None:
        if not self.has_details:
            return None
        return sum(1 for e in self.expectations if e.status == "passed")

    @property
    def failed_count(self) -> int:
        if self.has_details:
            return sum(1 for e in self.expectations if e.status in ("failed", "error"))
        return len(self.failed)

    @property
    def warning_count(self) -> int:
        if self.has_details:
            return sum(1 for e in self.expectations if e.status == "warning")
        return len(self.warnings)


@dataclass(frozen=True)
class GateRun:
    """One layer's gate in the last transform (status None: it did not run)."""

    layer: str
    status: str | None = None
    finished_at: str | None = None
    scope: str | None = None
    suites: list[SuiteResult] = field(default_factory=list)
    note: str = ""
    evaluated: int | None = None  # checks the gate counted (its suites' and any others)

    @property
    def anchor(self) -> str:
        return f"gate-{self.layer}"

    @property
    def rows_validated(self) -> int | None:
        counts = [s.rows_validated for s in self.suites if s.rows_validated is not None]
        return sum(counts) if counts else None


@dataclass(frozen=True)
class QualityReport:
    """Every gate of the last transform."""

    gates: list[GateRun] = field(default_factory=list)
    transform_status: str | None = None
    transform_finished_at: str | None = None
    failed_step: str | None = None

    @property
    def ran(self) -> list[GateRun]:
        return [g for g in self.gates if g.status is not None]

    @property
    def has_results(self) -> bool:
        return bool(self.ran)

    @property
    def status(self) -> str | None:
        """``failed`` if any gate of the last transform failed, ``ok`` if all ran passed."""
        if not self.ran:
            return None
        return _overall({str(g.status) for g in self.ran})

    @property
    def suites(self) -> list[SuiteResult]:
        return [s for g in self.gates for s in g.suites]


def _overall(statuses: set[str]) -> str:
    """``failed`` if anything failed, ``ok`` if everything passed, else ``unknown``."""
    if statuses == {"ok"}:
        return "ok"
    return "failed" if statuses - {"ok", "unknown"} else "unknown"


# ---------------------------------------------------------------- Formatting


def _time(value: Any) -> datetime | None:
    """A UTC datetime from an ISO text (``Z`` or offset) or GX's ``YYYYMMDDTHHMMSS.ffffffZ``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    for pattern in ("%Y%m%dT%H%M%S.%fZ", "%Y%m%dT%H%M%SZ"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _minute(value: Any) -> str | None:
    parsed = _time(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if parsed else None


def format_value(value: Any) -> str:
    """A value from a validation result as short text (numbers to 6 significant digits)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        shown = ", ".join(format_value(v) for v in value[:MAX_LIST_ITEMS])
        extra = len(value) - MAX_LIST_ITEMS
        return f"[{shown}{f', … {extra} more' if extra > 0 else ''}]"
    return str(value)


def _columns(kwargs: dict[str, Any]) -> str:
    """The column or columns an expectation is about, comma-separated."""
    names: list[str] = []
    for key in _COLUMN_KWARGS:
        value = kwargs.get(key)
        if value is not None:
            names.extend(map(str, value) if isinstance(value, list) else [str(value)])
    return ", ".join(names)


def _label(expectation: str, kwargs: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k in _COLUMN_KWARGS)
    return f"{expectation}({args})"


_FIRST_KWARGS = ("min_value", "max_value", "strict_min", "strict_max")


def _condition(kwargs: dict[str, Any]) -> str:
    keys = [k for k in _FIRST_KWARGS if k in kwargs] + [k for k in kwargs if k not in _FIRST_KWARGS]
    return ", ".join(
        f"{key}={format_value(kwargs[key])}"
        for key in keys
        if key not in _HIDDEN_KWARGS and key not in _COLUMN_KWARGS and kwargs[key] is not None
    )


def _exception(item: dict[str, Any]) -> str:
    info = item.get("exception_info") or {}
    candidates = [info] if "raised_exception" in info else list(info.values())
    for entry in candidates:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "the expectation raised an exception")
    return ""


def _observed(result: dict[str, Any]) -> str:
    if "observed_value" in result:
        return format_value(result["observed_value"])
    count = result.get("unexpected_count")
    if not isinstance(count, int | float):
        return ""
    total = result.get("element_count")
    text = f"{int(count):,}" + (f" of {int(total):,}" if isinstance(total, int | float) else "")
    text += " unexpected"
    percent = result.get("unexpected_percent")
    if count and isinstance(percent, int | float):
        text += f" ({format(percent, '.3g')}%)"
    return text


def _example(value: Any, columns: list[str] | None) -> str:
    # A compound key's counts list its values without their columns; name them again.
    if columns and isinstance(value, list | tuple) and len(value) == len(columns):
        return ", ".join(f"{c}={format_value(v)}" for c, v in zip(columns, value, strict=True))
    return format_value(value)


def _examples(result: dict[str, Any], columns: list[str] | None) -> tuple[list[str], int]:
    counts = [c for c in result.get("partial_unexpected_counts") or [] if isinstance(c, dict)]
    if counts:
        shown = [
            _example(c.get("value"), columns)
            + (f" ×{c['count']}" if c.get("count", 1) != 1 else "")
            for c in counts[:MAX_EXAMPLES]
        ]
        listed = sum(int(c.get("count") or 0) for c in counts[:MAX_EXAMPLES])
    else:
        values = result.get("partial_unexpected_list")
        if not isinstance(values, list) or not values:
            return [], 0
        shown = [_example(v, columns) for v in values[:MAX_EXAMPLES]]
        listed = len(shown)
    total = result.get("unexpected_count")
    more = int(total) - listed if isinstance(total, int | float) and total > listed else 0
    return shown, more


def expectation_result(item: dict[str, Any]) -> ExpectationResult:
    """One entry of a validation result's ``results`` list."""
    config = item.get("expectation_config") or {}
    kwargs = config.get("kwargs") or {}
    severity = str(config.get("severity") or "critical").rsplit(".", 1)[-1].lower()
    result = item.get("result") or {}
    error = _exception(item)
    if error:
        status = "error"
    elif item.get("success"):
        status = "passed"
    else:
        status = "failed" if severity == "critical" else "warning"
    columns = kwargs.get("column_list") if isinstance(kwargs.get("column_list"), list) else None
    examples, more = _examples(result, columns) if status != "passed" else ([], 0)
    expectation = str(config.get("type") or config.get("expectation_type") or "expectation")
    return ExpectationResult(
        label=_label(expectation, kwargs),
        expectation=expectation,
        column=_columns(kwargs),
        condition=_condition(kwargs),
        severity=severity,
        status=status,
        observed=_observed(result),
        examples=examples,
        more_examples=more,
        error=error,
    )


# ---------------------------------------------------------------- Validation results


@dataclass(frozen=True)
class _Stored:
    path: Path
    key: str  # path inside the validations store, without ".json"
    run_time: datetime | None


def _validation_files(lake: Lake) -> list[_Stored]:
    """Every stored validation result under the gates' GX context, with its run time if the
    store's folder names say it (``.../<run_name>/<run_time>/<batch>.json``)."""
    root = lake.local_state / GX_STATE_DIR
    if not root.is_dir():
        return []
    stored = []
    for path in sorted(root.rglob("*.json")):
        parts = path.relative_to(root).parts
        if "validations" not in parts[:-1]:
            continue
        inner = parts[len(parts) - parts[::-1].index("validations") :]
        key = "/".join(inner)[: -len(".json")]
        stored.append(_Stored(path, key, _time(path.parent.name)))
    return stored


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _validated_at(doc: dict[str, Any]) -> datetime | None:
    meta = doc.get("meta") or {}
    run_id = meta.get("run_id") or {}
    return _time(run_id.get("run_time") if isinstance(run_id, dict) else None) or _time(
        meta.get("validation_time")
    )


class _Store:
    """Validation results by time window, each file read at most once."""

    def __init__(self, lake: Lake) -> None:
        self._files = _validation_files(lake)
        self._docs: dict[Path, dict[str, Any] | None] = {}

    def doc(self, stored: _Stored) -> dict[str, Any] | None:
        if stored.path not in self._docs:
            self._docs[stored.path] = _read(stored.path)
        return self._docs[stored.path]

    def results(
        self,
        after: datetime | None,
        until: datetime | None,
        suites: Iterable[str] | None,
        prefix: str | None,
        ids: list[str] | None,
    ) -> dict[str, tuple[_Stored, dict[str, Any], datetime | None]]:
        """Newest result per suite in ``(after, until]`` (or with one of ``ids``)."""
        wanted = set(suites or ())
        found: dict[str, tuple[_Stored, dict[str, Any], datetime | None]] = {}
        for stored in self._files:
            known = stored.run_time
            if ids is None and known is not None and not _within(known, after, until):
                continue
            doc = self.doc(stored)
            if doc is None:
                continue
            suite = str(doc.get("suite_name") or doc.get("expectation_suite_name") or "")
            if not suite or not (suite in wanted or (prefix and suite.startswith(prefix))):
                continue
            when = _validated_at(doc) or stored.run_time
            if ids is not None:
                if str((doc.get("meta") or {}).get("validation_id")) not in ids:
                    continue
            elif when is None or not _within(when, after, until):
                continue
            best = found.get(suite)
            if best is None or (when and (best[2] is None or when > best[2])):
                found[suite] = (stored, doc, when)
        return found


def _within(when: datetime, after: datetime | None, until: datetime | None) -> bool:
    return (after is None or when > after) and (until is None or when <= until)


# ---------------------------------------------------------------- Run records


def _finished(record: dict[str, Any]) -> datetime:
    return _time(record.get("finished_at")) or datetime.min.replace(tzinfo=UTC)


def _layer(record: dict[str, Any]) -> str:
    for key in ("gate", "layer"):
        if isinstance(record.get(key), str) and record[key]:
            return record[key]
    suite = record.get("suite")
    if isinstance(suite, str) and "." in suite:
        return suite.split(".", 1)[0]
    return "gate"


def _status(record: dict[str, Any]) -> str:
    status = record.get("status")
    if isinstance(status, str) and status:
        return status
    passed = record.get("passed")
    return "unknown" if passed is None else ("ok" if passed else "failed")


def _names(record: dict[str, Any], *keys: str) -> list[str]:
    for key in keys:
        value = record.get(key)
        if isinstance(value, list):
            return [str(v) for v in value]
    return []


def _record_suites(record: dict[str, Any], layer: str) -> dict[str, int | None]:
    """Suites a record names, in its order, with the rows it validated where known."""
    suites: dict[str, int | None] = {}
    rows = record.get("rows_validated")
    if isinstance(record.get("suite"), str):
        suite = record["suite"]
        suites[suite] = rows if isinstance(rows, int) else None
    elif isinstance(record.get("table"), str):
        suites[f"{layer}.{record['table']}"] = rows if isinstance(rows, int) else None
    if isinstance(rows, dict):
        for table, count in rows.items():
            suite = table if "." in str(table) else f"{layer}.{table}"
            suites[suite] = count if isinstance(count, int) else None
    for name in _names(record, "failed_expectations", "failed") + _names(record, "warnings"):
        suite = name.split(": ", 1)[0] if ": " in name else None
        if suite and suite not in suites:
            suites[suite] = None
    return suites


def _row_count(doc: dict[str, Any]) -> int | None:
    counts = []
    for item in doc.get("results") or []:
        config = (item or {}).get("expectation_config") or {}
        result = (item or {}).get("result") or {}
        if config.get("type") == "expect_table_row_count_to_be_between" and isinstance(
            result.get("observed_value"), int
        ):
            return result["observed_value"]
        if isinstance(result.get("element_count"), int):
            counts.append(result["element_count"])
    return max(counts) if counts else None


def _suite_status(expectations: list[ExpectationResult], success: Any) -> str:
    if any(e.status in ("failed", "error") for e in expectations):
        return "failed"
    if any(e.status == "warning" for e in expectations):
        return "warning"
    if expectations or success is True:
        return "ok"
    return "failed" if success is False else "unknown"


def _suite_from_record(suite: str, rows: int | None, record: dict[str, Any]) -> SuiteResult:
    prefix = f"{suite}: "
    failed = [
        n[len(prefix) :]
        for n in _names(record, "failed_expectations", "failed")
        if n.startswith(prefix)
    ]
    warnings = [n[len(prefix) :] for n in _names(record, "warnings") if n.startswith(prefix)]
    if failed:
        status = "failed"
    elif warnings:
        status = "warning"
    elif rows == 0:
        status = "skipped"  # nothing of its table in the gate's scope: the suite did not run
    elif _status(record) == "ok":
        status = "ok"
    else:
        status = "unknown"
    return SuiteResult(
        suite=suite,
        table=suite.split(".", 1)[-1],
        status=status,
        rows_validated=rows,
        failed=failed,
        warnings=warnings,
    )


def _suite_from_doc(
    suite: str, rows: int | None, stored: _Stored, doc: dict[str, Any], when: datetime | None
) -> SuiteResult:
    expectations = [expectation_result(i) for i in doc.get("results") or [] if isinstance(i, dict)]
    return SuiteResult(
        suite=suite,
        table=suite.split(".", 1)[-1],
        status=_suite_status(expectations, doc.get("success")),
        rows_validated=rows if rows is not None else _row_count(doc),
        validated_at=_minute(when),
        expectations=expectations,
        failed=[e.label for e in expectations if e.status in ("failed", "error")],
        warnings=[e.label for e in expectations if e.status == "warning"],
        has_details=True,
        raw_page=f"{stored.key}.html",
    )


def _gate_run(
    layer: str, records: list[tuple[dict[str, Any], datetime | None]], store: _Store
) -> GateRun:
    suites: dict[str, SuiteResult] = {}
    for record, after in records:
        named = _record_suites(record, layer)
        ids = record.get("validation_ids")
        ids = [str(i) for i in ids] if isinstance(ids, list) else None
        own = record.get("suite") if isinstance(record.get("suite"), str) else None
        found = store.results(
            after, _time(record.get("finished_at")), named, None if own else f"{layer}.", ids
        )
        for suite in [*named, *sorted(s for s in found if s not in named)]:
            if suite in found:
                suites[suite] = _suite_from_doc(suite, named.get(suite), *found[suite])
            else:
                suites[suite] = _suite_from_record(suite, named.get(suite), record)
    statuses = {_status(r) for r, _ in records}
    last = records[-1][0]
    scope = _scope([r for r, _ in records])
    counts = [r["evaluated"] for r, _ in records if isinstance(r.get("evaluated"), int)]
    evaluated = sum(counts) if counts else None
    note = ""
    if not suites:
        note = "no Great Expectations suite ran" + (
            f"; {evaluated} checks evaluated by the gate" if evaluated is not None else ""
        )
    return GateRun(
        layer=layer,
        status=_overall(statuses),
        finished_at=_minute(last.get("finished_at")),
        scope=scope,
        suites=list(suites.values()),
        note=note,
        evaluated=evaluated,
    )


def _scope(records: list[dict[str, Any]]) -> str | None:
    """What a layer's gate validated: one text, or one per source when they differ."""
    scopes: dict[str, str] = {}
    for record in records:
        scope = record.get("scope")
        if isinstance(scope, str) and scope:
            scopes[str(record.get("source", ""))] = scope
    if len(set(scopes.values())) <= 1:
        return next(iter(scopes.values()), None)
    return "; ".join(f"{source}: {text}" for source, text in sorted(scopes.items()))


# Fields that differ between the records of one gate result written for each source it covers.
_PER_SOURCE_FIELDS = frozenset({"source", "run_id", "started_at", "finished_at", "scope"})


def _distinct(
    windows: list[tuple[dict[str, Any], datetime | None]],
) -> list[tuple[dict[str, Any], datetime | None]]:
    """Drop a record that repeats another's result for a further source (the gold gate's)."""
    seen: set[str] = set()
    out = []
    for record, after in windows:
        result = {k: v for k, v in record.items() if k not in _PER_SOURCE_FIELDS}
        key = json.dumps(result, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append((record, after))
    return out


def _recorded_sources(lake: Lake, step: str) -> list[str]:
    folder = lake.state / "runs" / step
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def collect_quality(lake: Lake, sources: list[str] | None = None) -> QualityReport:
    """Every gate of the last transform, over the sources it covered, with each suite's
    expectations.

    Args:
        lake: The lake whose run records and validation results are read.
        sources: Sources whose gates are shown; default every source with a gate record.

    Returns:
        The report; without any gate record, one that says so (``has_results`` False).
    """
    windows: list[tuple[dict[str, Any], datetime | None]] = []
    transforms: list[dict[str, Any]] = []
    for source in _recorded_sources(lake, "gate") if sources is None else sources:
        records = sorted(list_runs(lake, "gate", source), key=_finished)
        # The lower bound of each record's window: the source's gate record written before it.
        windows += [(r, _finished(records[i - 1]) if i else None) for i, r in enumerate(records)]
        transforms += list_runs(lake, "transform", source)
    if not windows:
        return QualityReport(gates=[GateRun(layer=layer) for layer in LAYERS])
    windows.sort(key=lambda pair: _finished(pair[0]))
    transforms.sort(key=_finished)

    run = windows[-1][0].get("transform_run_id")
    if run:
        chosen = [(r, after) for r, after in windows if r.get("transform_run_id") == run]
    else:  # no run id: the newest record of each layer and source
        newest = {(_layer(r), r.get("source")): (r, after) for r, after in windows}
        chosen = sorted(newest.values(), key=lambda pair: _finished(pair[0]))
    chosen = _distinct(chosen)
    transform = next(
        (t for t in reversed(transforms) if run and t.get("transform_run_id") == run), None
    )

    by_layer: dict[str, list[tuple[dict[str, Any], datetime | None]]] = {}
    for record, after in chosen:
        by_layer.setdefault(_layer(record), []).append((record, after))
    store = _Store(lake)
    failed_step = transform.get("failed_step") if transform else None
    gates = []
    for layer in [*LAYERS, *(x for x in by_layer if x not in LAYERS)]:
        if layer in by_layer:
            gates.append(_gate_run(layer, by_layer[layer], store))
        elif failed_step:
            note = f"not run: the transform stopped at {failed_step}"
            gates.append(GateRun(layer=layer, note=note))
        else:
            gates.append(GateRun(layer=layer, note="not run in the last transform"))
    return QualityReport(
        gates=gates,
        transform_status=str(transform.get("status")) if transform else None,
        transform_finished_at=_minute(transform.get("finished_at")) if transform else None,
        failed_step=str(failed_step) if failed_step else None,
    )
