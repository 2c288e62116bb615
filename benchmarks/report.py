"""Writing one benchmark's section into docs/PERFORMANCE.md, leaving the other sections alone."""

from __future__ import annotations

import contextlib
import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

PERFORMANCE = Path(__file__).resolve().parents[1] / "docs" / "PERFORMANCE.md"
HEADER = """# Performance

Figures written by `make bench` (see `benchmarks/`). Each section says when and on what machine it
was measured; re-run `make bench` to refresh them. Targets come from the issues that set them.
"""


def machine() -> str:
    """One line naming the machine and the moment, for every section."""
    cpu = "?"
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), cpu)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Measured {when} on {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}."


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section between this benchmark's markers."""
    text = PERFORMANCE.read_text(encoding="utf-8") if PERFORMANCE.exists() else HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    PERFORMANCE.parent.mkdir(exist_ok=True)
    PERFORMANCE.write_text(text, encoding="utf-8")
