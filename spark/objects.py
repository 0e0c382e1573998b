"""Open landed objects in plain Python, on the executors: a bad object is a reason, never a crash.

The bronze job hands each executor a list of object paths (:func:`object_frame`); the functions
here open them with the standard library (a local folder) or :mod:`pyarrow.fs` (S3), so a corrupt
gzip, an empty file or a broken envelope becomes an object-level problem of that object alone,
never a failed job. Two shapes leave this module:

- :func:`read_documents` (JSON layouts): one row per object with the body text; Spark parses it.
- :func:`read_tables` (csv, parquet, sas7bdat, text): one row per record with every needed value
  as raw text, read in chunks so a large file never sits in memory whole.

Every row carries the metadata columns, the raw text of the envelope fields the contract uses
(``envelope.key`` -> ``raw__<field>``), and the object's problem (field, raw value, reason), if
any, plus ``_record`` (what the quarantine row of a bad object shows: the start of the body).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import math
import os
import re
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lakehouse.landing import ENVELOPE_SUFFIX, transport_of
from spark.storage import is_uri, open_input

RECORD_PREFIX_CHARS = 2000
_CHUNK = 1 << 20
# Rows per chunk read from a table file, and per batch handed back to Spark: Spark's own Arrow
# batch size. A Python worker holds one chunk as pandas and Arrow (about 2.7 KiB a row for the
# 28 I94 columns), so this, not the file's size, sets the workers' memory.
TABLE_CHUNK_ROWS = 10_000
# Characters of body text per frame handed back to Spark.
BATCH_CHARS = 32 * 1024 * 1024

# Columns of every row this module returns (besides the raw value columns).
META_COLUMNS = [
    "_landing_path",
    "_batch_id",
    "_fetched_at",
    "_source_sha256",
    "_problem_field",
    "_problem_raw",
    "_problem_reason",
    "_record",
]


@dataclass
class ReadSpec:
    """What to read from each object: the layout's options and the values the contract needs.

    Attributes:
        layout: the entity's layout as a dict (``type`` plus its options).
        envelope: ``{raw column: path inside the envelope}`` (``key``, ``transport.params.x``).
        values: ``{raw column: path inside a record}`` (table layouts only).
        required: raw columns of required values (a table without such a column is rejected).
    """

    layout: dict[str, Any]
    envelope: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)

    @property
    def encoding(self) -> str:
        return str(self.layout.get("encoding") or "utf-8")


class ObjectProblem(Exception):
    """An object that cannot be used: ``field``, ``raw`` value and ``reason`` for quarantine."""

    def __init__(self, field: str, reason: str, raw: str | None = None, record: str = "") -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.raw = raw
        self.record = record


@dataclass
class Opened:
    """A landed object after its envelope checks."""

    path: str
    envelope: dict[str, Any]
    # Documents: the exact body bytes. Files: None (read from ``path`` by the table readers).
    body: bytes | None
    document: bool


# ---------------------------------------------------------------- rendering values as text


def render(value: Any) -> str | None:
    """A value as the raw text a contract check reads (JSON text for objects and arrays)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        if value != value:  # noqa: PLR0124 - NaN and NaT are the only values unequal to themselves
            return None
    except (TypeError, ValueError):  # array-like values compare element-wise
        pass
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return None if math.isnan(value) else repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` of nested dicts (None when any part is absent)."""
    current = data
    for part in path.split(".") if path else []:
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


# ---------------------------------------------------------------- opening one object


def _prefix(data: bytes) -> str:
    return data[:RECORD_PREFIX_CHARS].decode("utf-8", "replace")


def open_landed(path: str, document: bool) -> Opened:
    """Read a landed object's envelope (and a document's body) and run the object checks.

    Raises:
        ObjectProblem: the object is empty, not gzip, not an envelope document, has no valid
            ``fetched_at``, an HTTP status other than 2xx (http transports only, old envelopes
            included), or a body that no longer matches its sha256.
    """
    if document:
        envelope, body = _open_document(path)
    else:
        envelope, body = _open_sidecar(path), None
    _check_envelope(envelope, body)
    return Opened(path, envelope, body, document)


def _open_document(path: str) -> tuple[dict[str, Any], bytes]:
    with open_input(path) as fh:
        raw = fh.read()
    if not raw:
        raise ObjectProblem("object", "empty landing object (0 bytes)")
    try:
        text = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ObjectProblem(
            "object", f"unreadable landing object: not gzip ({exc})", record=_prefix(raw)
        ) from None
    if not text.strip():
        raise ObjectProblem("object", "empty landing object (no document inside the gzip)")
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        document = None
    if (
        not isinstance(document, dict)
        or not isinstance(document.get("envelope"), dict)
        or not ({"body", "body_base64"} & set(document))
    ):
        raise ObjectProblem(
            "envelope",
            "unreadable landing object: not an {envelope, body} JSON document",
            record=_prefix(text),
        )
    envelope = document["envelope"]
    if "body_base64" in document:
        try:
            body = base64.b64decode(str(document["body_base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise ObjectProblem(
                "body_base64", "body_base64 is not valid base64", record=_prefix(text)
            ) from None
    else:
        body = str(document.get("body") or "").encode("utf-8")
    return envelope, body


def _open_sidecar(path: str) -> dict[str, Any]:
    sidecar = path + ENVELOPE_SUFFIX
    try:
        with open_input(sidecar) as fh:
            data = json.loads(fh.read())
        envelope = data.get("envelope") if isinstance(data, dict) else None
    except (OSError, ValueError):
        envelope = None
    if not isinstance(envelope, dict):
        raise ObjectProblem("envelope", f"unreadable envelope sidecar {os.path.basename(sidecar)}")
    return envelope


def parse_fetched_at(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _check_envelope(envelope: dict[str, Any], body: bytes | None) -> None:
    record = _prefix(body) if body is not None else ""
    if parse_fetched_at(envelope.get("fetched_at")) is None:
        raise ObjectProblem(
            "envelope.fetched_at",
            "envelope has no valid fetched_at",
            render(envelope.get("fetched_at")),
            record,
        )
    transport = transport_of(envelope)
    if transport.get("kind") == "http":
        status = transport.get("status")
        try:
            ok = 200 <= int(status) <= 299
        except (TypeError, ValueError):
            ok = False
        if not ok:
            field = (
                "envelope.transport.status" if "transport" in envelope else "envelope.http_status"
            )
            shown = "missing" if status is None else str(status)
            raise ObjectProblem(field, f"http_status {shown} is not 2xx", render(status), record)
    if body is not None:
        _check_sha(envelope, hashlib.sha256(body).hexdigest(), record)


def _check_sha(envelope: dict[str, Any], digest: str, record: str) -> None:
    if digest != (envelope.get("sha256") or ""):
        raise ObjectProblem(
            "envelope.sha256",
            "body does not match the envelope's sha256 (altered after landing)",
            render(envelope.get("sha256")),
            record,
        )


def normalized_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope with ``transport`` filled in for objects landed before it existed."""
    return {**envelope, "transport": transport_of(envelope)}


# ---------------------------------------------------------------- rows


def _meta(path: str, envelope: dict[str, Any] | None, spec: ReadSpec) -> dict[str, Any]:
    env = normalized_envelope(envelope) if envelope else {}
    row = {
        "_landing_path": path,
        "_batch_id": render(env.get("batch_id")),
        "_fetched_at": render(env.get("fetched_at")),
        "_source_sha256": render(env.get("sha256")),
        "_problem_field": None,
        "_problem_raw": None,
        "_problem_reason": None,
        "_record": None,
    }
    for column, path_in in spec.envelope.items():
        row[column] = render(lookup(env, path_in))
    return row


def _problem_row(
    path: str, envelope: dict[str, Any] | None, spec: ReadSpec, problem: ObjectProblem
) -> dict[str, Any]:
    row = _meta(path, envelope, spec)
    row.update(
        _problem_field=problem.field,
        _problem_raw=problem.raw,
        _problem_reason=problem.reason,
        _record=problem.record[:RECORD_PREFIX_CHARS],
    )
    return row


def _peek_envelope(path: str, document: bool) -> dict[str, Any] | None:
    """The envelope of a rejected object when it can still be read (for its metadata)."""
    try:
        return _open_document(path)[0] if document else _open_sidecar(path)
    except ObjectProblem:
        return None


def _frames(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """Rows as a pandas frame of Python objects (a missing value is None, never a float NaN:
    an all-NaN float column does not convert to an Arrow string array)."""
    import pandas as pd

    return pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype=object) for c in columns})


def document_columns(spec: ReadSpec) -> list[str]:
    return [*META_COLUMNS, *spec.envelope, "body"]


def read_documents(batches: Iterable[Any], spec: ReadSpec) -> Iterator[Any]:
    """``mapInPandas`` body for JSON layouts: (path, document) rows -> one row per object."""
    columns = document_columns(spec)
    for batch in batches:
        rows: list[dict[str, Any]] = []
        size = 0
        for path, document in zip(batch["path"], batch["document"], strict=True):
            row = document_row(str(path), bool(document), spec)
            rows.append(row)
            size += len(row["body"] or "")
            # Hand bodies back in slices of a few tens of MB, whatever the batch's row count.
            if size >= BATCH_CHARS:
                yield _frames(rows, columns)
                rows, size = [], 0
        if rows:
            yield _frames(rows, columns)


def document_row(path: str, document: bool, spec: ReadSpec) -> dict[str, Any]:
    """One object's row: metadata, envelope values and body text, or its problem."""
    try:
        opened = open_landed(path, document)
        data = opened.body if opened.body is not None else _read_file_checked(opened)
        try:
            text = data.decode(spec.encoding)
        except (UnicodeDecodeError, LookupError):
            raise ObjectProblem(
                "body", f"body is not valid {spec.encoding} text", record=_prefix(data)
            ) from None
    except ObjectProblem as problem:
        envelope = _peek_envelope(path, document) if problem.field != "object" else None
        return {**_problem_row(path, envelope, spec, problem), "body": None}
    row = _meta(path, opened.envelope, spec)
    row["body"] = text
    return row


def _read_file_checked(opened: Opened) -> bytes:
    with open_input(opened.path) as fh:
        data = fh.read()
    _check_sha(opened.envelope, hashlib.sha256(data).hexdigest(), _prefix(data))
    return data


# ---------------------------------------------------------------- tables


def table_columns(spec: ReadSpec) -> list[str]:
    return [*META_COLUMNS, *spec.envelope, "_pos", *spec.values]


def read_tables(batches: Iterable[Any], spec: ReadSpec) -> Iterator[Any]:
    """``mapInArrow`` body for table layouts: (path, document, part, parts) record batches ->
    Arrow record batches of one row per record (no pandas round trip on the way to the JVM)."""
    columns = table_columns(spec)
    for batch in batches:
        data = batch.to_pydict()
        paths = data["path"]
        part_numbers = data.get("part") or [0] * len(paths)
        parts = data.get("parts") or [1] * len(paths)
        for path, document, part, count in zip(
            paths, data["document"], part_numbers, parts, strict=True
        ):
            yield from table_batches(
                str(path), bool(document), spec, columns, int(part), int(count)
            )


def table_batches(
    path: str, document: bool, spec: ReadSpec, columns: list[str], part: int = 0, parts: int = 1
) -> Iterator[Any]:
    """The records of one object (or of its ``part`` of ``parts`` row ranges, for layouts that
    split) as Arrow record batches of raw text, or one row with its problem (told by part 0
    alone)."""
    try:
        opened = open_landed(path, document)
        with _local_copy(opened) as local:
            meta = _meta(path, opened.envelope, spec)
            for position, chunk in _table_chunks(local, spec, part, parts):
                yield _record_batch(chunk, meta, position, columns)
    except ObjectProblem as problem:
        if part and problem.field != "body":
            return  # an object-level problem: part 0 reports it once
        envelope = _peek_envelope(path, document) if problem.field != "object" else None
        row = {**_problem_row(path, envelope, spec, problem), "_pos": None}
        yield _rows_batch([row], columns)


def table_frames(
    path: str, document: bool, spec: ReadSpec, columns: list[str], part: int = 0, parts: int = 1
) -> Iterator[Any]:
    """:func:`table_batches` as pandas frames (missing values None), for readers and tests."""
    for batch in table_batches(path, document, spec, columns, part, parts):
        yield batch.to_pandas().astype({c: object for c in columns if c != "_pos"})


def _text_array(values: Any) -> Any:
    import pyarrow as pa

    if isinstance(values, pa.Array):
        return values if values.type == pa.string() else values.cast(pa.string())
    return pa.array(values, pa.string())


def _record_batch(
    chunk: dict[str, Any], meta: dict[str, Any], position: int, columns: list[str]
) -> Any:
    """One chunk's values (lists or Arrow arrays of text), the object's metadata repeated on
    every row, and ``_pos`` (the record's position in the object) as an Arrow record batch."""
    import pyarrow as pa

    size = len(next(iter(chunk.values()))) if chunk else 0
    arrays = []
    for name in columns:
        if name == "_pos":
            arrays.append(pa.array(range(position, position + size), pa.int64()))
        elif name in chunk:
            arrays.append(_text_array(chunk[name]))
        elif meta.get(name) is None:
            arrays.append(pa.nulls(size, pa.string()))
        else:
            arrays.append(pa.array([meta[name]] * size, pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=columns)


def _rows_batch(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    import pyarrow as pa

    return pa.RecordBatch.from_arrays(
        [
            pa.array([r.get(c) for r in rows], pa.int64() if c == "_pos" else pa.string())
            for c in columns
        ],
        names=columns,
    )


class _local_copy:  # noqa: N801 - used as a context manager
    """A local, seekable path holding the object's exact bytes (checked against its sha256)."""

    def __init__(self, opened: Opened) -> None:
        self.opened = opened
        self.temp: str | None = None

    def __enter__(self) -> str:
        opened = self.opened
        if opened.body is not None or is_uri(opened.path):
            handle, self.temp = tempfile.mkstemp(prefix="bronze-", suffix=".part")
            digest = hashlib.sha256()
            with os.fdopen(handle, "wb") as out:
                if opened.body is not None:
                    out.write(opened.body)
                    digest.update(opened.body)
                else:
                    with open_input(opened.path) as src:
                        while chunk := src.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
            if opened.body is None:
                _check_sha(opened.envelope, digest.hexdigest(), "")
            return self.temp
        digest = hashlib.sha256()
        with open(opened.path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        _check_sha(opened.envelope, digest.hexdigest(), "")
        return opened.path

    def __exit__(self, *exc: object) -> None:
        if self.temp:
            os.unlink(self.temp)


def _columns_present(available: list[str], spec: ReadSpec, what: str) -> None:
    have = set(available)
    for column, path in spec.values.items():
        top = path.split(".")[0]
        if column in spec.required and top not in have:
            raise ObjectProblem(
                path, f"missing required field {path}: the {what} has no column {top}"
            )


def _table_chunks(
    local: str, spec: ReadSpec, part: int = 0, parts: int = 1
) -> Iterator[tuple[int, dict[str, list[str | None]]]]:
    """(position of the chunk's first record in the file, the chunk's values) per chunk."""
    kind = spec.layout["type"]
    if kind == "sas7bdat":
        yield from _sas_chunks(local, spec, part, parts)
        return
    if kind == "csv":
        chunks = _csv_chunks(local, spec)
    elif kind == "parquet":
        chunks = _parquet_chunks(local, spec)
    elif kind == "text":
        chunks = _text_chunks(local, spec)
    elif kind == "sas_formats":
        chunks = _sas_format_chunks(local, spec)
    else:
        raise ValueError(f"layout {kind!r} is not a table layout")
    position = 0
    for chunk in chunks:
        yield position, chunk
        position += len(next(iter(chunk.values()), []))


def _pick(records: dict[str, list[Any]], spec: ReadSpec, size: int) -> dict[str, list[Any]]:
    """Each needed value of a chunk (dotted paths reach into struct values)."""
    out: dict[str, list[Any]] = {}
    for column, path in spec.values.items():
        top, _, rest = path.partition(".")
        values = records.get(top)
        if values is None:
            out[column] = [None] * size
        elif rest:
            out[column] = [render(lookup(v, rest)) for v in values]
        else:
            out[column] = values
    return out


def _series_text(series: Any) -> list[str | None]:
    """A pandas column as raw text: NaN/None -> None, numbers as Python prints them."""
    return [render(v) for v in series.tolist()]


def _csv_chunks(local: str, spec: ReadSpec) -> Iterator[dict[str, list[Any]]]:
    import pandas as pd

    layout = spec.layout
    options = {
        "sep": layout.get("delimiter", ","),
        "encoding": spec.encoding,
        "header": 0 if layout.get("header", True) else None,
        "dtype": str,
        "keep_default_na": False,
        "na_values": list(layout.get("null_values") or [""]),
        "quotechar": layout.get("quote", '"'),
        "chunksize": TABLE_CHUNK_ROWS,
    }
    try:
        reader = pd.read_csv(local, **options)
        first = True
        for chunk in reader:
            if not layout.get("header", True):
                chunk.columns = [f"_c{i}" for i in range(len(chunk.columns))]
            if first:
                _columns_present(list(chunk.columns), spec, "csv file")
                first = False
            records = {str(c): _series_text(chunk[c]) for c in chunk.columns}
            yield _pick(records, spec, len(chunk))
    except (UnicodeDecodeError, LookupError):
        raise ObjectProblem("body", f"csv file is not valid {spec.encoding} text") from None
    except pd.errors.EmptyDataError:
        return
    except pd.errors.ParserError as exc:
        raise ObjectProblem("body", f"unparseable csv file: {str(exc).strip()[:200]}") from None


def _parquet_chunks(local: str, spec: ReadSpec) -> Iterator[dict[str, list[Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(local)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ObjectProblem("body", f"unreadable parquet file: {exc}") from None
    names = parquet.schema_arrow.names
    _columns_present(names, spec, "parquet file")
    wanted = sorted({p.split(".")[0] for p in spec.values.values()} & set(names))
    for batch in parquet.iter_batches(batch_size=TABLE_CHUNK_ROWS, columns=wanted):
        records = {name: _arrow_text(batch.column(name)) for name in batch.schema.names}
        yield _pick(records, spec, batch.num_rows)


def _arrow_text(column: Any) -> list[Any]:
    """An Arrow column as raw text (structs stay dicts for dotted paths)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_struct(kind):
        return column.to_pylist()
    if pa.types.is_timestamp(kind):
        seconds = pc.cast(column, pa.timestamp("s", tz=kind.tz), safe=False)
        pattern = "%Y-%m-%dT%H:%M:%S"
        return pc.strftime(seconds, format=pattern).to_pylist()
    if (
        pa.types.is_integer(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_date(kind)
    ):
        return pc.cast(column, pa.string()).to_pylist()
    return [render(v) for v in column.to_pylist()]


def _sas_chunks(
    local: str, spec: ReadSpec, part: int = 0, parts: int = 1
) -> Iterator[tuple[int, dict[str, list[Any]]]]:
    """Rows of a SAS7BDAT file read with ReadStat (pyreadstat), the ``part``-th of ``parts``
    equal row ranges, ``TABLE_CHUNK_ROWS`` at a time (ReadStat seeks to a row offset, so the
    parts of one file are read by separate tasks in parallel)."""
    import codecs

    import pyreadstat

    # ReadStat takes iconv names: "latin-1" is spelt "iso8859-1" there.
    try:
        encoding = codecs.lookup(spec.encoding).name
    except LookupError:
        raise ObjectProblem("body", f"unknown encoding {spec.encoding!r}") from None
    try:
        _, meta = pyreadstat.read_sas7bdat(local, metadataonly=True, encoding=encoding)
    except Exception as exc:  # ReadstatError/PyreadstatError on a truncated or foreign file
        if part:
            return  # the file's problem, told once by part 0
        raise ObjectProblem("body", f"unreadable sas7bdat file: {exc}") from None
    names = [str(c) for c in meta.column_names]
    _columns_present(names, spec, "sas7bdat file")
    wanted = sorted({p.split(".")[0] for p in spec.values.values()} & set(names))
    total = int(meta.number_rows or 0)
    start, end = total * part // parts, total * (part + 1) // parts
    for offset in range(start, end, TABLE_CHUNK_ROWS):
        limit = min(TABLE_CHUNK_ROWS, end - offset)
        try:
            chunk, _ = pyreadstat.read_sas7bdat(
                local,
                row_offset=offset,
                row_limit=limit,
                usecols=wanted or None,
                encoding=encoding,
            )
        except Exception as exc:  # a truncated or corrupt page
            raise ObjectProblem("body", f"unreadable sas7bdat file: {exc}") from None
        records = {str(c): _sas_text(chunk[c]) for c in chunk.columns}
        yield offset, _pick(records, spec, len(chunk))


def _sas_text(series: Any) -> Any:
    """A SAS column as raw text (an Arrow string array), the text :func:`render` gives, built
    column-wise: a 3-million-row month is 84 million values, too many for a Python call each.

    Numbers: whole floats (every I94 number) print as ``135.0`` like Python's ``repr``; NaN (SAS's
    missing value) is null; the rare other float goes through :func:`render`. Text: trailing
    blanks dropped, blank is SAS's missing character value (null).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = series.to_numpy()
    if values.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            whole = (np.abs(values) < 1e16) & (np.floor(values) == values)
        whole &= ~((values == 0) & np.signbit(values))  # -0.0 prints as "-0.0"
        digits = pa.array(np.where(whole, values, 0).astype(np.int64)).cast(pa.string())
        text = pc.binary_join_element_wise(digits, pa.scalar(".0"), "")
        odd = ~whole & ~np.isnan(values)
        if odd.any():
            others = pa.array(
                [render(float(v)) if o else None for v, o in zip(values, odd, strict=True)],
                pa.string(),
            )
            text = pc.if_else(pa.array(odd), others, text)
        return pc.if_else(pa.array(whole | odd), text, pa.nulls(len(values), pa.string()))
    if values.dtype == object:
        try:
            text = pa.array(values, pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            text = None  # not all str: dates and times of formatted columns
        if text is not None:
            trimmed = pc.utf8_rtrim(text, characters=" \t\r\n\x0b\x0c")
            return pc.if_else(pc.equal(trimmed, ""), pa.nulls(len(values), pa.string()), trimmed)
    return pa.array(_series_text(series), pa.string())


# `value <name>` ... `;` blocks of a PROC FORMAT program, comments removed first.
_FORMAT_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_FORMAT_BLOCK = re.compile(r"\bvalue\s+(\$?[A-Za-z_][A-Za-z0-9_]*)(.*?);", re.S | re.I)
_FORMAT_ENTRY = re.compile(
    r"(?P<code>'[^']*'|\"[^\"]*\"|[^\s=;'\"]+)\s*=\s*(?P<label>'[^']*'|\"[^\"]*\"|[^\r\n;]*)"
)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return text.strip()


def sas_format_rows(text: str) -> Iterator[tuple[str, str, str]]:
    """(format name, code, label) of every entry of the ``value`` lists of a SAS PROC FORMAT
    program: names lowercased without the ``$`` of character formats, codes and labels without
    quotes and padding."""
    for block in _FORMAT_BLOCK.finditer(_FORMAT_COMMENT.sub(" ", text)):
        name = block.group(1).lstrip("$").lower()
        for entry in _FORMAT_ENTRY.finditer(block.group(2)):
            yield name, _unquote(entry.group("code")), _unquote(entry.group("label"))


def _sas_format_chunks(local: str, spec: ReadSpec) -> Iterator[dict[str, list[Any]]]:
    with open(local, "rb") as fh:
        data = fh.read()
    try:
        text = data.decode(spec.encoding)
    except (UnicodeDecodeError, LookupError):
        raise ObjectProblem("body", f"file is not valid {spec.encoding} text") from None
    rows = list(sas_format_rows(text))
    if not rows:
        raise ObjectProblem("body", "no PROC FORMAT value list found", record=_prefix(data))
    for start in range(0, len(rows), TABLE_CHUNK_ROWS):
        part = rows[start : start + TABLE_CHUNK_ROWS]
        records = {
            "format": [r[0] for r in part],
            "code": [r[1] for r in part],
            "label": [r[2] for r in part],
        }
        yield _pick(records, spec, len(part))


def _text_chunks(local: str, spec: ReadSpec) -> Iterator[dict[str, list[Any]]]:
    with open(local, "rb") as fh:
        data = fh.read()
    try:
        text = data.decode(spec.encoding)
    except (UnicodeDecodeError, LookupError):
        raise ObjectProblem("body", f"file is not valid {spec.encoding} text") from None
    record = {"text": [text], "$": [text]}
    yield _pick(record, spec, 1)


__all__ = [
    "META_COLUMNS",
    "ObjectProblem",
    "ReadSpec",
    "document_columns",
    "document_row",
    "read_documents",
    "read_tables",
    "render",
    "table_batches",
    "table_columns",
    "table_frames",
]
