"""`python -m benchmarks [name ...]`: run every benchmark in turn (what `make bench` does), or the named ones
(`make bench BENCH=load`)."""

import sys

from benchmarks import bank_import, export, leaderboard, load, question_statistics

ALL = {
    "bank_import": bank_import,
    "leaderboard": leaderboard,
    "export": export,
    "question_statistics": question_statistics,
    "load": load,
}

for name in sys.argv[1:] or ALL:
    if name not in ALL:
        raise SystemExit(f"no benchmark {name!r}; choose from {', '.join(ALL)}")
    ALL[name].main()
