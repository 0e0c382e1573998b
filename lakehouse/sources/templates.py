"""Contract templates: ``"{{ target.latitude }}"`` in params, headers, paths and JSON bodies.

Values of a contract may be Jinja2 templates, rendered in a sandbox (no attribute access to
private members, no imports) with strict undefined names, so a typo (``{{ target.lattitude }}``)
is an error naming the name instead of an empty parameter. The context of a request:

- ``target``: the fan-out item merged with its ``vary`` values (``target.id``, ``target.latitude``);
- ``window``: ``start``/``end`` datetimes (recent) or ``start_date``/``end_date`` dates (range);
- ``today`` (UTC date), ``now`` (UTC datetime);
- ``fields``: source paths of the record-level fields of the entities the endpoint lands;
- helpers ``days(n)``, ``hours(n)``, ``minutes(n)`` (timedeltas).

Query parameters and headers are text: whatever a template renders to is sent as the rendered
text (``37.7749``, ``2025-03-05``). In JSON bodies, a value that is one whole expression
(``"{{ target.passengers }}"``) keeps its type (a number stays a number; dates become ISO text),
and any other template renders to text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.S)


class TemplateRenderError(ValueError):
    """A contract template could not be rendered (the message names the template and why)."""


def helpers() -> dict[str, Any]:
    """Functions every template may call."""
    return {
        "days": lambda n: timedelta(days=n),
        "hours": lambda n: timedelta(hours=n),
        "minutes": lambda n: timedelta(minutes=n),
    }


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


@lru_cache(maxsize=512)
def _template(text: str):
    return _ENV.from_string(text)


@lru_cache(maxsize=512)
def _expression(text: str):
    return _ENV.compile_expression(text, undefined_to_none=False)


def render_text(value: Any, context: Mapping[str, Any]) -> str:
    """``value`` as text: a template rendered, anything else ``str()`` (``None`` -> ``""``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not is_template(value):
        return str(value)
    try:
        return _template(value).render(**helpers(), **context)
    except TemplateError as exc:
        raise TemplateRenderError(f"template {value!r}: {exc}") from None
    except Exception as exc:  # a helper or method raised (strftime on a None, ...)
        raise TemplateRenderError(f"template {value!r}: {type(exc).__name__}: {exc}") from None


def render_params(values: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters or headers: every value rendered to text, in declaration order."""
    return {str(k): render_text(v, context) for k, v in values.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


def render_json(value: Any, context: Mapping[str, Any]) -> Any:
    """A JSON body template: mappings and lists walked, whole expressions keep their type."""
    if isinstance(value, Mapping):
        return {str(k): render_json(v, context) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_json(v, context) for v in value]
    if not is_template(value):
        return value
    whole = _WHOLE_EXPRESSION.match(value)
    if whole and "{{" not in whole.group("expr") and "{%" not in value:
        try:
            result = _expression(whole.group("expr").strip())(**helpers(), **context)
            if isinstance(result, Undefined):
                str(result)  # StrictUndefined raises, naming what is undefined
            return _jsonable(result)
        except TemplateError as exc:
            raise TemplateRenderError(f"template {value!r}: {exc}") from None
        except Exception as exc:
            raise TemplateRenderError(f"template {value!r}: {type(exc).__name__}: {exc}") from None
    return render_text(value, context)
