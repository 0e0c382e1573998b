"""Console hygiene shared by the verbs that run flows: quiet by default, everything on --verbose.

Without ``--verbose``, Prefect's console lines (banners, task states, the traceback of an
expected failure) and the project's own info lines go to ``<lake>/_state/logs/<verb>.log``
instead of the terminal (warnings and errors still show); Prefect's API logs are untouched.
Each verb prints its own progress and one-screen summary instead.
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

    from lakehouse import log
    from lakehouse.settings import get_settings

    log_dir = get_settings().lake.local_state / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(log_dir / f"{verb}.log", encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    file_handler.setLevel(logging.INFO)
    log.configure()
    project = logging.getLogger("lakehouse")  # does not propagate: its own handler and file
    project_file = logging.FileHandler(log_dir / f"{verb}.log", encoding="utf-8")
    project_file.setFormatter(log.KeyValueFormatter())
    project_file.setLevel(logging.INFO)
    saved: list[tuple[logging.Handler, int]] = []
    for logger in (logging.getLogger(), logging.getLogger("prefect")):
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                saved.append((handler, handler.level))
                handler.setLevel(logging.CRITICAL + 1)
    for handler in project.handlers:
        if getattr(handler, "_lakehouse", False):
            saved.append((handler, handler.level))
            handler.setLevel(max(handler.level, logging.WARNING))
    root = logging.getLogger()
    root.addHandler(file_handler)
    project.addHandler(project_file)
    try:
        yield
    finally:
        root.removeHandler(file_handler)
        project.removeHandler(project_file)
        file_handler.close()
        project_file.close()
        # The console stays quiet until the verb ends: Prefect's temporary server logs its
        # shutdown at exit. In-process callers (tests) get their levels back on the next run.
        _SAVED_LEVELS.extend(saved)
