"""Local replay of source APIs in their real formats, so nothing needs the internet.

``from lakehouse.replay import ReplayServer, Fault``; see :mod:`lakehouse.replay.server` for the
server and admin API, :mod:`lakehouse.replay.faults` for fault kinds and
:mod:`lakehouse.replay.weather` for the deterministic data generator (``hourly_values``).
"""

from lakehouse.replay.faults import FAULT_KINDS, Fault
from lakehouse.replay.server import ReplayServer

__all__ = ["FAULT_KINDS", "Fault", "ReplayServer"]
