"""Measuring one step: wall time, CPU time and peak memory of this process and of Spark's JVM.

Wall time is what a user waits; on a shared, noisy machine the CPU seconds are the steadier
figure of cost, so both are kept. CPU counts this process (every thread: DuckDB, dbt, pyarrow),
its finished children, and the Spark JVM with its Python workers when one is attached (a worker
that exits mid-step loses the CPU it used in that step: a small undercount).

Peak memory is the high-water mark of resident memory (``VmHWM``). Linux lets a process reset
it (``echo 5 > /proc/<pid>/clear_refs``), so each step gets its own peak; where that is not
possible (another OS, no permission) the figure is the peak since the process started, and
``peak_is_per_step`` says so.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class StepMeasure:
    """Figures of one measured step (filled in when its ``with`` block ends)."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mib: float | None = None
    jvm_peak_rss_mib: float | None = None
    peak_is_per_step: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        extra = out.pop("extra")
        out.update(extra)
        return out


def _status_kib(pid: int | str, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_peak(pid: int | str) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _proc_cpu_s(pid: int, waited_children: bool = False) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        # utime, stime, cutime, cstime are fields 14-17 of stat; after the ")" split, 11-14.
        ticks = int(fields[11]) + int(fields[12])
        if waited_children:
            ticks += int(fields[13]) + int(fields[14])
        return ticks / _CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return 0.0


def _tree_cpu_s(pid: int) -> float:
    """CPU of ``pid``, its finished children and its live descendants (PySpark's Python
    workers are the JVM's children)."""
    total = _proc_cpu_s(pid, waited_children=True)
    queue = _children(pid)
    while queue:
        child = queue.pop()
        total += _proc_cpu_s(child)
        queue.extend(_children(child))
    return total


def _self_cpu_s() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parts = stat.read_text().rsplit(")", 1)[1].split()
            if int(parts[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def jvm_cpu_s(pid: int) -> float:
    """CPU seconds used so far by the JVM ``pid`` and its workers."""
    return _tree_cpu_s(pid)


def jvm_peak_mib(pid: int) -> float | None:
    """Peak resident memory of ``pid`` so far, in MiB."""
    peak = _status_kib(pid, "VmHWM")
    return round(peak / 1024, 1) if peak else None


def find_jvm_pid(spark: Any) -> int | None:
    """Process id of the JVM behind a local PySpark session, if it can be found.

    PySpark launches ``spark-submit``, whose scripts ``exec`` into ``java``; the launched process
    is kept on the gateway. Its descendants are searched in case a wrapper stayed in between.
    """
    try:
        proc = spark.sparkContext._gateway.proc  # noqa: SLF001 - PySpark exposes no public handle
        pid = int(proc.pid)
    except (AttributeError, TypeError, ValueError):
        return None
    queue = [pid]
    while queue:
        current = queue.pop(0)
        try:
            if Path(f"/proc/{current}/comm").read_text().strip() == "java":
                return current
        except OSError:
            pass
        queue.extend(_children(current))
    return None


class JvmHeap:
    """Heap figures of a local Spark JVM, read through py4j from ``java.lang.management``.

    Resident memory says what the JVM took from the machine; the heap says what the data cost
    inside it. :meth:`reset` starts a step (each heap pool's peak is reset), :meth:`figures` ends
    it: the peak used per pool (summed: an upper bound of the peak heap in use), the old
    generation's peak (what outlived young collections: caches, sort buffers, broadcast
    tables), the committed heap (what the resident memory follows) and the heap still in use
    after a full collection (what the step left behind).
    """

    def __init__(self, spark: Any) -> None:
        self._management = spark.sparkContext._jvm.java.lang.management  # noqa: SLF001

    def _pools(self) -> list[Any]:
        beans = self._management.ManagementFactory.getMemoryPoolMXBeans()
        return [p for p in beans if str(p.getType().name()) == "HEAP"]

    def reset(self) -> None:
        for pool in self._pools():
            pool.resetPeakUsage()

    def figures(self) -> dict[str, float]:
        mib = 1024 * 1024
        pools = self._pools()
        peaks = {str(p.getName()): p.getPeakUsage().getUsed() for p in pools}
        old = [v for name, v in peaks.items() if "Old" in name or "Tenured" in name]
        bean = self._management.ManagementFactory.getMemoryMXBean()
        committed = bean.getHeapMemoryUsage().getCommitted()
        bean.gc()
        heap = bean.getHeapMemoryUsage()
        return {
            "jvm_heap_peak_used_mib": round(sum(peaks.values()) / mib, 1),
            "jvm_old_gen_peak_mib": round(max(old, default=0) / mib, 1),
            "jvm_heap_committed_mib": round(committed / mib, 1),
            "jvm_heap_live_after_mib": round(heap.getUsed() / mib, 1),
            "jvm_heap_max_mib": round(heap.getMax() / mib, 1),
        }


class Meter:
    """Measures steps of this process, and of a Spark JVM once :meth:`attach_jvm` is called."""

    def __init__(self) -> None:
        self.jvm_pid: int | None = None

    def attach_jvm(self, pid: int | None) -> None:
        """Include the JVM ``pid`` in CPU and memory figures from now on."""
        self.jvm_pid = pid

    @contextmanager
    def step(self) -> Iterator[StepMeasure]:
        """Measure the ``with`` block; figures are set on the yielded object when it ends."""
        measure = StepMeasure()
        per_step = _reset_peak("self")
        if self.jvm_pid:
            _reset_peak(self.jvm_pid)
        cpu0 = _self_cpu_s() + (_tree_cpu_s(self.jvm_pid) if self.jvm_pid else 0.0)
        wall0 = time.perf_counter()
        try:
            yield measure
        finally:
            measure.wall_s = round(time.perf_counter() - wall0, 3)
            cpu1 = _self_cpu_s() + (_tree_cpu_s(self.jvm_pid) if self.jvm_pid else 0.0)
            measure.cpu_s = round(cpu1 - cpu0, 3)
            hwm = _status_kib("self", "VmHWM")
            if hwm is None:  # not Linux: ru_maxrss is KiB on Linux, bytes on macOS
                hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                per_step = False
            measure.peak_rss_mib = round(hwm / 1024, 1)
            if self.jvm_pid:
                jvm = _status_kib(self.jvm_pid, "VmHWM")
                measure.jvm_peak_rss_mib = round(jvm / 1024, 1) if jvm else None
            measure.peak_is_per_step = per_step


def percentile(values: list[float], q: float) -> float:
    """The ``q`` percentile (0-100) of ``values``, linear between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
