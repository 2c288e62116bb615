"""The answer-save endpoint against the two reference endpoints, with Debian's ``wrk`` and a Lua script.

All three get the same requests: the contestants' session cookies and CSRF tokens, the same JSON
body, spread over many open attempts (so the per-attempt rate limit never trips). The three runs
alternate, several times, each for a fixed duration; the median of each is reported, with the CPU
time that wrk itself and the server used, so the generator's share of the 2 cores is visible.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.load_stack import process_tree_cpu

SCRIPT = """
local entries = {
%(entries)s
}
local mode = "%(mode)s"
local n = 0
request = function()
  n = n + 1
  local e = entries[(n %% #entries) + 1]
  local headers = {["Cookie"] = e[2], ["X-CSRFToken"] = e[3], ["Content-Type"] = "application/json",
                   ["Accept"] = "application/json"}
  if mode == "constant" then
    return wrk.format("GET", "/_bench/constant", headers)
  end
  local body = '{"choices":[' .. (n %% 2) .. ']}'
  if mode == "hset" then
    return wrk.format("PUT", "/_bench/hset/" .. e[4] .. "/" .. (n %% 20), headers, body)
  end
  return wrk.format("PUT", e[1] .. (n %% 20), headers, body)
end
"""

ENDPOINTS = {
    "constant": "A: constant JSON (reference)",
    "hset": "B: JSON body + one Redis HSET (reference)",
    "save": "Answer save (the real endpoint)",
}


@dataclass(frozen=True)
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    wrk_cpu: float  # CPU seconds wrk used
    server_cpu: float  # CPU seconds the gunicorn master and workers used
    seconds: float


@dataclass(frozen=True)
class Target:
    """One open attempt to write to, with the session that owns it."""

    round_id: int
    attempt_id: int
    cookie: str
    csrf: str


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is missing: `make bench` installs Debian's wrk when run as root (apt-get install wrk).")
    return found


def _lua(targets: list[Target], mode: str) -> str:
    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    rows = ",\n".join(
        f"  {{{quoted(f'/api/v1/rounds/{t.round_id}/attempts/{t.attempt_id}/answers/')}, {quoted(t.cookie)}, "
        f"{quoted(t.csrf)}, {quoted(str(t.attempt_id))}}}"
        for t in targets
    )
    return SCRIPT % {"entries": rows, "mode": mode}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_once(
    base_url: str, folder: Path, targets: list[Target], mode: str, *, seconds: int, connections: int, server_pid: int
) -> Sample:
    script = folder / f"wrk-{mode}.lua"
    script.write_text(_lua(targets, mode), encoding="utf-8")
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = process_tree_cpu(server_pid)
    started = time.monotonic()
    out = subprocess.run(
        [wrk_binary(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base_url],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LC_ALL": "C"},
    ).stdout
    elapsed = time.monotonic() - started
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (after_children.ru_utime - before_children.ru_utime) + (
        after_children.ru_stime - before_children.ru_stime
    )
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(g) for g in socket_errors.groups()) if socket_errors else 0
    )
    return Sample(rps, p50, p99, errors, requests, wrk_cpu, process_tree_cpu(server_pid) - server_before, elapsed)


def measure(
    base_url: str,
    folder: Path,
    targets: list[Target],
    *,
    rounds: int = 3,
    seconds: int = 10,
    connections: int = 32,
    server_pid: int,
) -> dict[str, list[Sample]]:
    """Alternate the three endpoints ``rounds`` times; a short warm-up run of each comes first."""
    for mode in ENDPOINTS:
        run_once(base_url, folder, targets, mode, seconds=2, connections=connections, server_pid=server_pid)
    samples: dict[str, list[Sample]] = {mode: [] for mode in ENDPOINTS}
    for _ in range(rounds):
        for mode in ENDPOINTS:
            samples[mode].append(
                run_once(
                    base_url, folder, targets, mode, seconds=seconds, connections=connections, server_pid=server_pid
                )
            )
    return samples


def median(samples: list[Sample], attribute: str) -> float:
    return statistics.median(getattr(s, attribute) for s in samples)
