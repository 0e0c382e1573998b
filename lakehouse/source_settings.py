"""Per-source settings: what a contract's ``source.settings`` declares, read at run time.

Every source reads its settings the same way, so generic code never names a source:

- each declared setting ``<name>``, plus ``base_url`` (always: replaces the host of every
  endpoint) and, for OAuth2 client credentials, the client id and secret settings;
- from ``LAKEHOUSE_<SOURCE>_<NAME>`` in the environment or the ``.env`` file, then the declared
  ``aliases`` (older names such as ``LAKEHOUSE_<API>_URL``), then the declared ``default``;
- ``secret: true`` values are :class:`pydantic.SecretStr`: they print as ``**********`` and are
  never logged, landed, recorded or sent in an alert (:func:`secret_values`).

``source_settings(contract, {"base_url": url})`` gives explicit overrides (``--base-url``) the
last word; ``None`` overrides are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.contracts import (
    Contract,
    HttpSource,
    OAuth2ClientCredentials,
    SourceSetting,
    available_sources,
    load_contract,
)

logger = logging.getLogger(__name__)

BASE_URL = "base_url"


class SourceSettings(BaseSettings):
    """Base of every generated per-source settings model."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )


def env_name(source: str, setting: str) -> str:
    """The variable that holds ``setting`` of ``source``: ``LAKEHOUSE_<SOURCE>_<NAME>``."""
    return f"LAKEHOUSE_{source.upper()}_{setting.upper()}"


def declared_settings(contract: Contract) -> dict[str, SourceSetting]:
    """The contract's settings plus the implicit ones (``base_url``, OAuth2 client id/secret)."""
    declared = dict(contract.source.settings)
    declared.setdefault(
        BASE_URL, SourceSetting(description="Replaces the host of every endpoint of the source.")
    )
    src = contract.source
    if isinstance(src, HttpSource) and isinstance(src.auth, OAuth2ClientCredentials):
        declared.setdefault(
            src.auth.client_id_setting, SourceSetting(description="OAuth2 client id.")
        )
        declared.setdefault(
            src.auth.client_secret_setting,
            SourceSetting(description="OAuth2 client secret.", secret=True),
        )
    return declared


def settings_model(contract: Contract) -> type[SourceSettings]:
    """A pydantic-settings model with one optional field per setting of ``contract``."""
    fields: dict[str, Any] = {}
    for name, setting in declared_settings(contract).items():
        kind: Any = SecretStr | None if setting.secret else str | None
        default: Any = setting.default
        if setting.secret and default is not None:
            default = SecretStr(default)
        fields[name] = (
            kind,
            Field(
                default,
                validation_alias=AliasChoices(env_name(contract.name, name), *setting.aliases),
                description=setting.description,
            ),
        )
    title = "".join(part.title() for part in contract.name.split("_"))
    return create_model(f"{title}SourceSettings", __base__=SourceSettings, **fields)


def source_settings(
    contract: Contract,
    overrides: Mapping[str, Any] | None = None,
    *,
    env_file: str | None = ".env",
) -> SourceSettings:
    """The settings of ``contract``'s source (environment, ``.env``, aliases, defaults).

    Args:
        contract: The source's contract.
        overrides: Values that win over everything (``{"base_url": ...}``); ``None`` skipped.
        env_file: The dotenv file to read (``None``: environment only).
    """
    model = settings_model(contract)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(given) - set(model.model_fields))
    if unknown:
        raise ValueError(f"source {contract.name!r} has no settings {unknown}")
    return model(_env_file=env_file, **given)


def setting_value(settings: BaseSettings, name: str) -> str | None:
    """A setting as plain text (a secret revealed: only for the request that needs it)."""
    value = getattr(settings, name, None)
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return None if value is None else str(value)


def secret_values(settings: BaseSettings) -> list[str]:
    """The secret values held by ``settings`` (to cut from free text), at least 4 characters."""
    values = []
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr) and len(value.get_secret_value()) >= 4:
            values.append(value.get_secret_value())
    return values


def all_source_secrets() -> list[str]:
    """Secret values of every source with a contract (alerts redact them); never raises."""
    values: list[str] = []
    try:
        for name in available_sources():
            try:
                values.extend(secret_values(source_settings(load_contract(name))))
            except Exception as exc:  # noqa: BLE001 - one unreadable contract hides nothing else
                logger.debug("no secrets read for %s: %s", name, type(exc).__name__)
    except Exception as exc:  # noqa: BLE001
        logger.debug("no source secrets read: %s", type(exc).__name__)
    return values
