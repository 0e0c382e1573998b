"""Core package of the lakehouse: settings, lake paths, source contracts, CLI and replay server."""

import os

# Offline-first: no run may wait on a telemetry endpoint it cannot reach (users behind firewalls
# need the same). setdefault so an operator can still opt in.
for _name, _value in {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
}.items():
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
