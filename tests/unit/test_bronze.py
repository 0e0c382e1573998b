"""Bronze job pieces that need no JVM: schemas from the contract, paths, value locations,
object reading, the landing listing, a run with nothing new, jar cache, CLI, flows.

Nothing is faked: the Spark types are plain pyspark objects, the lake is a temporary folder, and
objects are landed with :mod:`lakehouse.landing` (or broken by hand).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import types as T
from typer.testing import CliRunner

from lakehouse.contracts import load_contract
from lakehouse.lake import Lake
from spark import jars
from spark.fields import locate, plan, record_levels
from spark.layouts import column_arrays, layout_module
from spark.paths import LakeUris, is_uri
from spark.schema import bronze_schema, java_datetime_pattern, quarantine_schema
from spark.storage import object_key

BRONZE_COLUMNS = [
    ("city_id", T.StringType()),
    ("observed_at", T.TimestampType()),
    ("observed_date", T.DateType()),
    ("latitude", T.DoubleType()),
    ("longitude", T.DoubleType()),
    ("elevation", T.DoubleType()),
    ("utc_offset_seconds", T.IntegerType()),
    ("temperature_2m", T.DoubleType()),
    ("relative_humidity_2m", T.DoubleType()),
    ("apparent_temperature", T.DoubleType()),
    ("precipitation", T.DoubleType()),
    ("weather_code", T.IntegerType()),
    ("pressure_msl", T.DoubleType()),
    ("cloud_cover", T.DoubleType()),
    ("wind_speed_10m", T.DoubleType()),
    ("wind_direction_10m", T.DoubleType()),
    ("_batch_id", T.StringType()),
    ("_landing_path", T.StringType()),
    ("_fetched_at", T.TimestampType()),
    ("_ingested_at", T.TimestampType()),
    ("_source_sha256", T.StringType()),
]


def test_bronze_schema_is_the_published_one() -> None:
    """The seam dbt and the gates are built against: names, order and types, exactly."""
    entity = load_contract("weather").entity("hourly")
    schema = bronze_schema(entity)
    assert [(f.name, f.dataType) for f in schema.fields] == BRONZE_COLUMNS


def test_bronze_schema_follows_the_contract() -> None:
    """A field added to the contract becomes a column of its type, with no code change."""
    contract = load_contract("weather")
    entity = contract.entity("hourly")
    extra = entity.fields[0].model_copy(update={"name": "snow_depth", "type": "double"})
    grown = entity.model_copy(update={"fields": [*entity.fields, extra]})
    names = bronze_schema(grown).fieldNames()
    assert names[names.index("wind_direction_10m") + 1] == "snow_depth"


def test_quarantine_schema_is_generic() -> None:
    """The natural key as JSON text, the entity's event time column, then the same columns."""
    entity = load_contract("weather").entity("hourly")
    assert quarantine_schema(entity).fieldNames() == [
        "key",
        "observed_at",
        "reason",
        "field",
        "raw_value",
        "record",
        "_batch_id",
        "_landing_path",
        "_fetched_at",
        "_ingested_at",
        "_source_sha256",
    ]


def test_body_schema_reads_contract_fields_as_raw_text() -> None:
    contract = load_contract("weather")
    entity = contract.entity("hourly")
    schema = column_arrays.body_schema(plan(contract, entity))
    hourly = schema["hourly"].dataType
    measures = [f.name for f in entity.fields if f.path is None]
    assert sorted(hourly.fieldNames()) == sorted(["time", *measures])
    assert all(f.dataType == T.ArrayType(T.StringType()) for f in hourly.fields)
    # Values of the document root are read once per object, as text.
    assert {"latitude", "longitude", "elevation", "utc_offset_seconds"} <= set(schema.fieldNames())


@pytest.mark.parametrize(
    ("strftime", "java"),
    [
        ("%Y-%m-%dT%H:%M", "yyyy-MM-dd'T'HH:mm"),
        ("%Y-%m-%d %H:%M:%S", "yyyy-MM-dd HH:mm:ss"),
        ("%d/%m/%Y", "dd/MM/yyyy"),
        ("%Y%m%dZ%H", "yyyyMMdd'Z'HH"),
        ("%Y-%m-%dT%H:%M:%S%z", "yyyy-MM-dd'T'HH:mm:ss[XXX][XX]"),
    ],
)
def test_java_datetime_pattern(strftime: str, java: str) -> None:
    assert java_datetime_pattern(strftime) == java


def test_java_datetime_pattern_rejects_unknown_directive() -> None:
    with pytest.raises(ValueError, match="%a"):
        java_datetime_pattern("%a %Y")


def test_layout_module_is_chosen_by_layout_type() -> None:
    assert layout_module("column_arrays") is column_arrays
    assert layout_module("csv") is layout_module("sas7bdat")
    with pytest.raises(ValueError, match="no bronze reader for layout 'xml'"):
        layout_module("xml")


def test_spark_package_names_no_source() -> None:
    """Generic code: no source, city or weather word anywhere under spark/."""
    root = Path(__file__).resolve().parents[2] / "spark"
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".properties"):
            text = path.read_text(encoding="utf-8").lower()
            for word in ("weather", "city", "cities", "open-meteo", "open_meteo"):
                assert word not in text, f"{path.relative_to(root.parent)} says {word!r}"


def test_record_levels_and_where_each_path_is_read() -> None:
    assert record_levels("data[].itineraries[].segments[]") == ["data", "itineraries", "segments"]
    assert record_levels("$") == [""] and record_levels("$.results") == ["results"]
    entity = _records_entity("data[].itineraries[].segments[]")
    assert locate(entity, "c", "data[].price.total") == _value(
        "data[].price.total", "price.total", 0
    )
    own = "data[].itineraries[].segments[].departure.at"
    assert locate(entity, "c", own) == _value(own, "departure.at", 2)
    assert locate(entity, "c", "departure.at") == _value("departure.at", "departure.at", 2)
    assert locate(entity, "c", "$.meta.count").scope == "root"
    assert locate(entity, "c", "envelope.transport.params.origin").rel == "transport.params.origin"


def test_lake_uris_local_follows_lake_layout(tmp_path: Path) -> None:
    uris = LakeUris.of(tmp_path / "lake")
    lake = Lake(tmp_path / "lake")
    assert uris.landing("weather", "hourly") == str(lake.landing("weather", "hourly"))
    assert uris.bronze("weather__hourly") == str(lake.bronze("weather__hourly"))
    assert uris.quarantine("weather__hourly") == str(lake.quarantine("weather__hourly"))
    assert uris.state("bronze", "t") == str(lake.state / "bronze" / "t")
    assert uris.is_local and uris.lake == lake


def test_lake_uris_s3_and_layer_buckets() -> None:
    uris = LakeUris.of("s3://acme-lake/", {"landing": "s3://acme-landing"})
    assert uris.bronze("weather__hourly") == "s3://acme-lake/bronze/weather__hourly"
    assert uris.landing("weather", "hourly") == "s3://acme-landing/weather/hourly"
    assert uris.state("bronze", "x") == "s3://acme-lake/_state/bronze/x"
    assert not uris.is_local
    # The job's run records go to the same lake, through the Lake of these URIs.
    lake = uris.lake
    assert lake.uri(lake.bronze("weather__hourly")) == uris.bronze("weather__hourly")
    assert lake.uri(lake.landing("weather", "hourly")) == uris.landing("weather", "hourly")
    assert is_uri("s3://b/k") and not is_uri("/tmp/lake") and not is_uri("lake")


def test_object_key_ignores_scheme_and_root() -> None:
    name = "fetch_date=2025-03-08/20250308T120000000000Z_san_diego_0123456789abcdef.json.gz"
    assert object_key(f"file:/tmp/lake/landing/weather/hourly/{name}") == name
    assert object_key(f"s3://acme-landing/weather/hourly/{name}") == name
    with pytest.raises(ValueError, match="not a landing object path"):
        object_key("s3://acme-landing/weather/hourly/stray.json.gz")


def test_jar_manifest_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_CACHE_DIR", str(tmp_path / "cache"))
    assert jars.ivy_dir() == tmp_path / "cache" / "ivy"
    assert jars.cached_jars() is None
    jar_dir = jars.ivy_dir() / "jars"
    jar_dir.mkdir(parents=True)
    delta = jar_dir / "io.delta_delta-spark_2.12-3.3.0.jar"
    delta.write_bytes(b"PK")
    other = tmp_path / "elsewhere.jar"  # not from the Ivy folder: not Delta's dependency
    jars.record_jars(f"file://{delta},file://{other}")
    assert jars.cached_jars() == [f"file://{delta}"]
    delta.unlink()  # a cache wiped by hand means resolving again, not a broken classpath
    assert jars.cached_jars() is None


def test_delta_package_matches_installed_wheel() -> None:
    from importlib.metadata import version

    assert jars.delta_package() == f"io.delta:delta-spark_2.12:{version('delta-spark')}"


def test_cli_has_one_bronze_command_per_contract() -> None:
    from lakehouse.cli.app import app

    result = CliRunner().invoke(app, ["bronze", "--help"])
    assert result.exit_code == 0
    assert "weather" in result.output
    result = CliRunner().invoke(app, ["bronze", "weather", "--help"])
    assert result.exit_code == 0
    assert "--lake-root" in result.output and "lakehouse bronze weather" in result.output
    assert CliRunner().invoke(app, ["bronze", "nosuchsource"]).exit_code != 0


def test_flows_are_named_per_source() -> None:
    from flows.bronze import FLOWS, weather_bronze

    assert weather_bronze.name == "weather-bronze"
    assert set(FLOWS) >= {"weather"}
    assert all(f.name == f"{s}-bronze" for s, f in FLOWS.items())


def _records_entity(path: str):  # noqa: ANN202
    from lakehouse.contracts import RecordsLayout

    entity = load_contract("weather").entity("hourly")
    return entity.model_copy(update={"layout": RecordsLayout(type="records", path=path)})


def _value(path: str, rel: str, level: int):  # noqa: ANN202
    from spark.fields import Value

    return Value("c", path, "record", rel, level)
