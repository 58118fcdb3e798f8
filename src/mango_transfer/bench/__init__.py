"""Benchmarks of the engine against the tools researchers use today, in one run, as ratios.

``datasets`` makes the trees, ``baselines`` runs the alternatives as their users write them,
``targets`` provides the zone (embedded server subprocess, or any zone via ``--env``),
``runner`` times every (scenario, tool, link) cell, ``report`` prints, writes JSON and plots.
"""
