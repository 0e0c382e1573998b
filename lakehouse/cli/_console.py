"""Console hygiene shared by the verbs that run flows: quiet by default, everything on --verbose.

Without ``--verbose``, Prefect's console lines (banners, task states, the traceback of an
expected failure) go to ``<lake>/_state/logs/<verb>.log`` instead of the terminal; Prefect's
API logs are untouched. Each verb prints its own progress and one-screen summary instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

_SAVED_LEVELS: list[tuple[logging.Handler, int]] = []


@contextmanager
def quiet_console(verb: str, verbose: bool) -> Iterator[None]:
    """Send Prefect's console output of ``verb`` to the lake's log unless ``verbose``."""
    while _SAVED_LEVELS:
        handler, level = _SAVED_LEVELS.pop()
        handler.setLevel(level)
    if verbose:
        yield
        return
    from prefect.logging.handlers import PrefectConsoleHandler

    from lakehouse.settings import get_settings

    log_dir = get_settings().lake.local_state / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(log_dir / f"{verb}.log", encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    file_handler.setLevel(logging.INFO)
    loggers = [logging.getLogger(), logging.getLogger("prefect")]
    saved: list[tuple[logging.Handler, int]] = []
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                saved.append((handler, handler.level))
                handler.setLevel(logging.CRITICAL + 1)
    root = logging.getLogger()
    root.addHandler(file_handler)
    try:
        yield
    finally:
        root.removeHandler(file_handler)
        file_handler.close()
        # The console stays quiet until the verb ends: Prefect's temporary server logs its
        # shutdown at exit. In-process callers (tests) get their levels back on the next run.
        _SAVED_LEVELS.extend(saved)
