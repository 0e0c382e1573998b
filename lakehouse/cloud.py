"""The AWS profile of the settings, filled from ``terraform output -json`` of an env root.

The env roots (``terraform/envs/<env>``) output one object, ``lakehouse_settings``, whose keys are
exactly the AWS fields of :class:`lakehouse.settings.Settings`. This module maps it over, checks
that nothing is missing, and renders it as ``LAKEHOUSE_*`` lines for a ``.env`` file, so no
bucket name or ARN is ever typed by hand.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lakehouse.settings import Settings

#: Name of the env roots' output that carries the settings.
SETTINGS_OUTPUT = "lakehouse_settings"

#: Settings fields that ``lakehouse_settings`` must carry, all of them.
AWS_FIELDS: tuple[str, ...] = (
    "aws_region",
    "buckets",
    "glue_databases",
    "athena_workgroup",
    "emr_application_id",
    "emr_job_role_arn",
    "redshift_workgroup",
    "alerts_topic_arn",
    "site_bucket",
)

#: Buckets and databases the pipeline addresses by key; a deployment without them is unusable.
REQUIRED_BUCKETS: tuple[str, ...] = (
    "landing",
    "bronze",
    "silver",
    "gold",
    "quarantine",
    "athena_results",
    "site",
)
REQUIRED_DATABASES: tuple[str, ...] = ("bronze", "silver", "gold")

#: Output of the env roots with the flow runs' further ``LAKEHOUSE_*`` variables, by name (each
#: file inbox as ``LAKEHOUSE_<SOURCE>_LOCATION``): written to the ``.env`` after the settings.
FLOW_RUN_ENV_OUTPUT = "flow_run_environment"
_FLOW_RUN_ENV_NAME = re.compile(r"^LAKEHOUSE_[A-Z][A-Z0-9_]*$")

#: Where the env roots live, relative to the project root.
ENVS_DIR = Path("terraform") / "envs"


class CloudSettingsError(ValueError):
    """``terraform output`` could not be turned into settings; the message says what to do."""


def project_root() -> Path:
    """The checkout this package runs from (the folder holding ``terraform/``)."""
    return Path(__file__).resolve().parent.parent


def terraform_binary() -> str:
    """Path of the terraform binary: the project's pinned build first, then ``PATH``.

    Raises:
        CloudSettingsError: If no terraform binary can be found.
    """
    cache = Path(os.environ.get("LAKEHOUSE_CACHE_DIR", Path.home() / ".cache" / "lakehouse"))
    pinned = cache / "bin" / "terraform"
    if pinned.is_file() and os.access(pinned, os.X_OK):
        return str(pinned)
    found = shutil.which("terraform")
    if found:
        return found
    raise CloudSettingsError(
        "terraform is not installed: run `make setup` (scripts/setup.d/30-terraform.sh) "
        "or pass the output with --from-file"
    )


def read_terraform_output(env: str, *, root: Path | None = None, timeout_s: float = 120) -> dict:
    """Run ``terraform -chdir=terraform/envs/<env> output -json`` and parse it.

    Args:
        env: Environment root to read (``dev``, ``prod``).
        root: Project root holding ``terraform/``; defaults to this checkout.
        timeout_s: Seconds before terraform is given up on.

    Returns:
        The parsed ``terraform output -json`` document.

    Raises:
        CloudSettingsError: If the env root does not exist or terraform fails.
    """
    env_dir = (root or project_root()) / ENVS_DIR / env
    if not env_dir.is_dir():
        known = sorted(p.name for p in env_dir.parent.glob("*") if p.is_dir())
        raise CloudSettingsError(
            f"no env root {env_dir} (known envs: {', '.join(known) or 'none'})"
        )
    try:
        done = subprocess.run(
            [terraform_binary(), f"-chdir={env_dir}", "output", "-json"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CloudSettingsError(f"terraform output timed out after {timeout_s:.0f}s") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        hint = detail[-1] if detail else f"exit code {done.returncode}"
        raise CloudSettingsError(
            f"terraform output failed in {env_dir}: {hint} "
            f"(run `terraform -chdir={env_dir} init` and `apply` first)"
        )
    return parse_terraform_output(done.stdout, origin=f"terraform output of {env}")


def parse_terraform_output(text: str, *, origin: str = "terraform output") -> dict:
    """Parse the JSON text of ``terraform output -json``.

    Raises:
        CloudSettingsError: If the text is not a JSON object.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CloudSettingsError(f"{origin} is not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict):
        raise CloudSettingsError(f"{origin} must be a JSON object of outputs")
    return data


def _output_value(outputs: Mapping[str, Any], name: str, origin: str) -> Any:
    """Unwrap one output: ``terraform output -json`` wraps each as {sensitive, type, value}."""
    if name not in outputs:
        raise CloudSettingsError(
            f"{origin} has no output {name!r}: is it the output of an env root "
            f"(terraform/envs/<env>) after `terraform apply`?"
        )
    wrapped = outputs[name]
    if not isinstance(wrapped, Mapping) or "value" not in wrapped:
        raise CloudSettingsError(
            f"output {name!r} in {origin} is not in `terraform output -json` form "
            '({"sensitive": ..., "type": ..., "value": ...})'
        )
    return wrapped["value"]


def cloud_values(outputs: Mapping[str, Any], *, origin: str = "terraform output") -> dict[str, Any]:
    """Pick and check the settings values out of a ``terraform output -json`` document.

    Args:
        outputs: The parsed document.
        origin: Where it came from, for error messages.

    Returns:
        Settings field name -> value, for the AWS fields (and ``env`` when the root outputs it).

    Raises:
        CloudSettingsError: If a field is missing or has the wrong shape.
    """
    values = _output_value(outputs, SETTINGS_OUTPUT, origin)
    if not isinstance(values, Mapping):
        raise CloudSettingsError(f"output {SETTINGS_OUTPUT!r} in {origin} must be an object")
    missing = [f for f in AWS_FIELDS if values.get(f) in (None, "", {})]
    if missing:
        raise CloudSettingsError(
            f"output {SETTINGS_OUTPUT!r} in {origin} lacks {', '.join(missing)}: "
            "re-run `terraform apply` with this version of terraform/envs"
        )
    unknown = sorted(set(values) - set(AWS_FIELDS))
    if unknown:
        raise CloudSettingsError(
            f"output {SETTINGS_OUTPUT!r} in {origin} has keys the settings do not know: "
            f"{', '.join(unknown)}"
        )
    for name, required in (("buckets", REQUIRED_BUCKETS), ("glue_databases", REQUIRED_DATABASES)):
        mapping = values[name]
        if not isinstance(mapping, Mapping):
            raise CloudSettingsError(f"{SETTINGS_OUTPUT}.{name} in {origin} must be an object")
        absent = [k for k in required if not mapping.get(k)]
        if absent:
            raise CloudSettingsError(
                f"{SETTINGS_OUTPUT}.{name} in {origin} lacks {', '.join(absent)}"
            )
    picked: dict[str, Any] = {f: values[f] for f in AWS_FIELDS}
    if "env" in outputs:
        picked["env"] = _output_value(outputs, "env", origin)
    return picked


def load_outputs(source: str | Path | Mapping[str, Any]) -> tuple[dict, str]:
    """Read outputs from a parsed document or a file holding ``terraform output -json``."""
    if isinstance(source, Mapping):
        return dict(source), "terraform output"
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CloudSettingsError(f"no such file: {path}") from exc
    return parse_terraform_output(text, origin=str(path)), str(path)


def read_outputs(
    source: str | Path | Mapping[str, Any] | None = None,
    *,
    env: str | None = None,
    root: Path | None = None,
) -> tuple[dict, str]:
    """The ``terraform output -json`` document and where it came from: ``source`` (a file or
    the parsed document), else ``terraform output`` of the env root ``env``."""
    if source is None:
        if not env:
            raise CloudSettingsError("pass an env (dev, prod) or a file of terraform output")
        return read_terraform_output(env, root=root), f"terraform output of {env}"
    return load_outputs(source)


def flow_run_environment(
    outputs: Mapping[str, Any], *, origin: str = "terraform output"
) -> dict[str, str]:
    """The flow runs' further ``LAKEHOUSE_*`` variables (``flow_run_environment`` output).

    An env root from before that output has none: an empty mapping.

    Raises:
        CloudSettingsError: If the output is not an object of ``LAKEHOUSE_*`` names to text,
            or names a variable the settings' own lines already set.
    """
    if FLOW_RUN_ENV_OUTPUT not in outputs:
        return {}
    values = _output_value(outputs, FLOW_RUN_ENV_OUTPUT, origin)
    if not isinstance(values, Mapping) or not all(isinstance(v, str) for v in values.values()):
        raise CloudSettingsError(
            f"output {FLOW_RUN_ENV_OUTPUT!r} in {origin} must be an object of names to text"
        )
    own = {"LAKEHOUSE_PROFILE", "LAKEHOUSE_ENV", *(f"LAKEHOUSE_{f.upper()}" for f in AWS_FIELDS)}
    bad = sorted(n for n in values if not _FLOW_RUN_ENV_NAME.match(n) or n in own)
    if bad:
        raise CloudSettingsError(
            f"output {FLOW_RUN_ENV_OUTPUT!r} in {origin} names {', '.join(bad)}: expected "
            "LAKEHOUSE_<SOURCE>_<SETTING> names other than the settings' own"
        )
    return dict(sorted(values.items()))


def settings_from_terraform_output(
    source: str | Path | Mapping[str, Any] | None = None,
    *,
    env: str | None = None,
    root: Path | None = None,
    **overrides: Any,
) -> Settings:
    """Build the ``aws`` profile settings from ``terraform output -json``.

    Args:
        source: A file holding the JSON, or the parsed document; None runs
            ``terraform -chdir=terraform/envs/<env> output -json``.
        env: Environment name; required when ``source`` is None, and it wins over the root's
            ``env`` output otherwise.
        root: Project root, when terraform is run.
        **overrides: Further settings fields (for example ``lake_root``).

    Returns:
        Settings with ``profile="aws"`` and every AWS field filled.

    Raises:
        CloudSettingsError: If the output cannot be read or lacks a field.
    """
    outputs, origin = read_outputs(source, env=env, root=root)
    values = cloud_values(outputs, origin=origin)
    if env:
        values["env"] = env
    return Settings(profile="aws", **values, **overrides)


def env_lines(settings: Settings, extra: Mapping[str, str] | None = None) -> list[str]:
    """Render the AWS profile of ``settings`` as ``LAKEHOUSE_*=...`` lines for a ``.env`` file,
    followed by the ``extra`` variables (:func:`flow_run_environment`).

    Mappings are written as JSON, which pydantic-settings parses back into dicts.
    """
    lines = [f"LAKEHOUSE_PROFILE={settings.profile}", f"LAKEHOUSE_ENV={settings.env}"]
    values: dict[str, Any] = {f"LAKEHOUSE_{n.upper()}": getattr(settings, n) for n in AWS_FIELDS}
    for name, value in {**values, **(extra or {})}.items():
        if value is None:
            continue
        if isinstance(value, dict):
            text = json.dumps(value, sort_keys=True, separators=(",", ":"))
        else:
            text = str(value)
        if "'" in text or "\n" in text:
            raise CloudSettingsError(f"{name} holds a quote or newline, which a .env line cannot")
        # Single quotes keep JSON's double quotes intact for dotenv parsers and shells alike.
        lines.append(f"{name}='{text}'")
    return lines
