"""Organising contests: contests, their rounds and rules, the contest spec, the unit tree, branding."""
