"""The Spark side: one session for the whole benchmark, and the landing -> bronze job in it.

Start-up (JVM launch, Delta jars, first trivial job) is measured once and reported apart; every
job after that runs in the warm session, which is how a long-lived cluster or a scheduled run
with a reused session pays it.
"""

from __future__ import annotations

from typing import Any

from lakehouse.settings import Settings


def start_session(settings: Settings) -> Any:
    """Start the local Delta session of :mod:`spark.session` and run one trivial job in it."""
    from spark.session import get_session

    spark = get_session(settings, app_name="lakehouse-bench")
    # The first job pays for executor start and code generation; count it as start-up.
    spark.range(1).count()
    return spark


def run_bronze(spark: Any, settings: Settings) -> dict[str, Any]:
    """Run the weather landing -> bronze job (:func:`spark.landing_to_bronze.run`).

    The job processes the landing objects its ledger has not seen: a full run is a run on a
    lake whose bronze, quarantine and ledger were wiped first (the workspace does that), an
    incremental run one after new objects landed.

    Returns:
        The job's result (counts, Delta versions), JSON-ready.
    """
    from spark.landing_to_bronze import run

    return _plain(run(spark, settings.lake, "weather", "hourly"))


def _plain(result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    if isinstance(result, dict):
        data = result
    elif hasattr(result, "as_dict"):
        data = result.as_dict()
    elif hasattr(result, "__dataclass_fields__"):
        from dataclasses import asdict

        data = asdict(result)
    else:
        return {"result": str(result)}
    # Counts and versions only: paths would put this machine's folders into shared results.
    return {
        k: v
        for k, v in data.items()
        if (isinstance(v, int | float | str | bool) or v is None) and not k.endswith("_path")
    }
