"""Per-source settings: LAKEHOUSE_<SOURCE>_<NAME>, aliases, defaults; secrets stay secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from lakehouse.alerts import AlertEvent
from lakehouse.contracts import Contract, load_contract
from lakehouse.settings import Settings
from lakehouse.source_settings import (
    declared_settings,
    secret_values,
    setting_value,
    source_settings,
)

WEATHER = load_contract("weather")


def _flights(**settings: dict) -> Contract:
    return Contract.model_validate(
        {
            "name": "flights",
            "description": "d",
            "owner": "o",
            "source": {
                "kind": "http",
                "base_url": "https://api.example.invalid",
                "settings": settings,
                "auth": {"type": "oauth2_client_credentials", "token_path": "/token"},
                "endpoints": {"search": {"path": "/v2/search"}},
            },
            "schedule": {"cron": "0 * * * *"},
            "entities": {
                "offers": {
                    "description": "d",
                    "grain": "g",
                    "bronze_table": "flights__offers",
                    "layout": {"type": "records", "path": "data"},
                    "natural_key": ["id"],
                    "event_time": {"column": "at", "source_field": "at"},
                    "partition_by": "at_date",
                    "late_records": {"policy": "latest_fetched_at_wins"},
                    "fields": [{"name": "id", "type": "string"}],
                }
            },
        }
    )


def test_weather_reads_the_new_name_then_the_old_alias(monkeypatch) -> None:
    assert source_settings(WEATHER, env_file=None).base_url is None
    monkeypatch.setenv("LAKEHOUSE_OPENMETEO_URL", "http://old:1")
    assert source_settings(WEATHER, env_file=None).base_url == "http://old:1"
    monkeypatch.setenv("LAKEHOUSE_WEATHER_BASE_URL", "http://new:2")
    assert source_settings(WEATHER, env_file=None).base_url == "http://new:2"
    # An explicit value (--base-url) wins; None is no value.
    assert source_settings(WEATHER, {"base_url": "http://cli:3"}).base_url == "http://cli:3"
    assert source_settings(WEATHER, {"base_url": None}, env_file=None).base_url == "http://new:2"


def test_the_dotenv_file_is_read(tmp_path: Path) -> None:
    env = tmp_path / "custom.env"
    env.write_text("LAKEHOUSE_WEATHER_BASE_URL=http://from-dotenv:4\n", encoding="utf-8")
    assert source_settings(WEATHER, env_file=str(env)).base_url == "http://from-dotenv:4"


def test_oauth2_settings_are_implicit_and_the_secret_is_a_secretstr(monkeypatch) -> None:
    contract = _flights(market={"default": "US", "description": "point of sale"})
    assert set(declared_settings(contract)) == {"market", "base_url", "client_id", "client_secret"}
    monkeypatch.setenv("LAKEHOUSE_FLIGHTS_CLIENT_ID", "client-1")
    monkeypatch.setenv("LAKEHOUSE_FLIGHTS_CLIENT_SECRET", "very-secret-value")
    conf = source_settings(contract, env_file=None)
    assert conf.market == "US" and conf.client_id == "client-1"
    assert isinstance(conf.client_secret, SecretStr)
    assert "very-secret-value" not in repr(conf) and "very-secret-value" not in str(conf)
    assert setting_value(conf, "client_secret") == "very-secret-value"
    assert secret_values(conf) == ["very-secret-value"]


def test_a_declared_secret_default_is_secret_too() -> None:
    contract = _flights(api_key={"secret": True, "default": "default-key-123"})
    conf = source_settings(contract, env_file=None)
    assert isinstance(conf.api_key, SecretStr) and "default-key-123" not in repr(conf)


def test_an_unknown_override_is_an_error() -> None:
    with pytest.raises(ValueError, match="no settings"):
        source_settings(WEATHER, {"token": "x"})


def test_alerts_cut_per_source_secrets(monkeypatch, tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "weather.yml").write_text(
        (Path(__file__).resolve().parents[2] / "lakehouse/contracts/weather.yml").read_text(),
        encoding="utf-8",
    )
    flights = _flights()
    import yaml

    (contracts / "flights.yml").write_text(
        yaml.safe_dump(flights.model_dump(mode="json", by_alias=True, exclude_defaults=True)),
        encoding="utf-8",
    )
    monkeypatch.setenv("LAKEHOUSE_CONTRACTS_DIR", str(contracts))
    monkeypatch.setenv("LAKEHOUSE_FLIGHTS_CLIENT_SECRET", "leaky-client-secret")
    event = AlertEvent(flow="flights-ingest", step="ingest", reason="token leaky-client-secret")
    message = event.to_message(Settings(_env_file=None))
    assert "leaky-client-secret" not in str(message)
