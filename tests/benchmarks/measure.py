"""Figures for the benchmarks: sizes from the environment, percentiles, memory, RESULTS.md."""

from __future__ import annotations

import math
import os
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS_PATH = Path(__file__).with_name("RESULTS.md")
RUNS_MARKER = "<!-- runs: newest first -->"


def quick() -> bool:
    """``LIAISON_BENCH_QUICK=1``: small sizes, a run of a couple of minutes."""
    return os.environ.get("LIAISON_BENCH_QUICK", "").strip() not in ("", "0", "no", "false")


def size(name: str, full: int, quick_size: int) -> int:
    """A size from ``LIAISON_BENCH_<NAME>``, else the full or quick default."""
    raw = os.environ.get(f"LIAISON_BENCH_{name}", "").strip()
    if raw:
        return int(raw)
    return quick_size if quick() else full


def strict() -> bool:
    """``LIAISON_BENCH_STRICT=1`` turns a missed target into a failure (CI on a quiet machine)."""
    return os.environ.get("LIAISON_BENCH_STRICT", "").strip() not in ("", "0", "no", "false")


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def spread(values: Sequence[float]) -> str:
    """p50/p90/p99 of durations in seconds, in milliseconds."""
    return (
        f"p50 {percentile(values, 50) * 1000:.1f} / p90 {percentile(values, 90) * 1000:.1f} / "
        f"p99 {percentile(values, 99) * 1000:.1f} ms (n={len(values)})"
    )


def process_memory(pid: int) -> tuple[float, float]:
    """Resident memory now and its peak (VmRSS, VmHWM) in MiB, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    found: dict[str, float] = {}
    for key in ("VmRSS", "VmHWM"):
        match = re.search(rf"^{key}:\s+(\d+)\s+kB", status, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no {key} in /proc/{pid}/status")
        found[key] = int(match.group(1)) / 1024
    return found["VmRSS"], found["VmHWM"]


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far, from /proc."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float:
    """CPU seconds spent by the whole machine so far (every core, not idle)."""
    values = [int(v) for v in Path("/proc/stat").read_text(encoding="ascii").split()[1:8]]
    busy = sum(values) - values[3] - values[4]
    return busy / os.sysconf("SC_CLK_TCK")


def machine() -> str:
    """Cores, memory and CPU model, for the heading of a run."""
    cores = os.cpu_count() or 0
    memory = "?"
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="ascii")
        match = re.search(r"^MemTotal:\s+(\d+)\s+kB", meminfo, re.MULTILINE)
        if match:
            memory = f"{int(match.group(1)) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    model = platform.processor() or platform.machine()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
        if match:
            model = match.group(1).strip()
    except OSError:
        pass
    return f"{cores} cores, {memory} RAM, {model}, Python {platform.python_version()}"


@dataclass
class Figure:
    """One benchmark's outcome: its lines of figures and whether the target was met."""

    title: str
    lines: list[str] = field(default_factory=list)
    target: str = ""
    met: bool | None = None

    def add(self, line: str) -> None:
        self.lines.append(line)

    def verdict(self, target: str, met: bool) -> None:
        self.target = target
        self.met = met

    def markdown(self) -> str:
        out = [f"### {self.title}", ""]
        # a line indented by two spaces is a sub-item of the line above it
        out += [f"  - {line[2:]}" if line.startswith("  ") else f"- {line}" for line in self.lines]
        if self.target:
            state = "met" if self.met else "**missed**"
            out.append(f"- target {self.target}: {state}")
        return "\n".join(out)

    def text(self) -> str:
        body = "\n".join(f"  {line}" for line in self.lines)
        if self.target:
            body += f"\n  target {self.target}: {'met' if self.met else 'MISSED'}"
        return f"== {self.title}\n{body}"


class Results:
    """Collects the figures of a run and writes them on top of RESULTS.md."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.started = datetime.now(UTC)
        self.synapse_version = ""

    def figure(self, title: str) -> Figure:
        figure = Figure(title)
        self.figures.append(figure)
        return figure

    def heading(self) -> str:
        mode = "quick" if quick() else "full"
        when = self.started.strftime("%Y-%m-%d %H:%M UTC")
        server = f", Synapse {self.synapse_version}" if self.synapse_version else ""
        return f"## {when} — {mode} run — {machine()}{server}"

    def write(self, path: Path | None = None) -> Path | None:
        """Prepend this run to RESULTS.md (``LIAISON_BENCH_RESULTS`` names another file, or
        ``-`` for none); older runs stay below it."""
        if not self.figures:
            return None
        override = os.environ.get("LIAISON_BENCH_RESULTS", "").strip()
        if override == "-":
            return None
        target = path or (Path(override) if override else RESULTS_PATH)
        ordered = sorted(self.figures, key=lambda f: f.title)
        run = "\n\n".join([self.heading(), *(f.markdown() for f in ordered)])
        existing = target.read_text(encoding="utf-8") if target.exists() else ""
        if RUNS_MARKER in existing:
            head, _, older = existing.partition(RUNS_MARKER)
            text = f"{head}{RUNS_MARKER}\n\n{run}\n\n{older.lstrip()}"
        else:
            text = f"{_PREAMBLE}\n{RUNS_MARKER}\n\n{run}\n\n{existing.lstrip()}"
        target.write_text(text.rstrip() + "\n", encoding="utf-8")
        return target


_PREAMBLE = """# Benchmark results

Written by `make bench` (`tests/benchmarks/`). Each figure is compared with references measured
in the same run on the same Synapse: the ideal relay (a plain client sending copies it was given
beforehand), the naive relay, Apertium alone, and the two-hop floor; the docstring of each
`tests/benchmarks/test_*.py` says what is measured and how. `make bench QUICK=1` runs use small
sizes and are only a smoke test.
"""
