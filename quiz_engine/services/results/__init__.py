"""Results: leaderboards and rankings, standings, voids and rescoring, exports, certificates, statistics, the
live dashboard.
"""
