"""`python -m benchmarks`: run every benchmark in turn (what `make bench` does)."""

from benchmarks import bank_import, export, leaderboard

for benchmark in (bank_import, leaderboard, export):
    benchmark.main()
