"""`python -m benchmarks`: run every benchmark in turn (what `make bench` does)."""

from benchmarks import bank_import

for benchmark in (bank_import,):
    benchmark.main()
