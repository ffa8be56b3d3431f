"""Sim: scenario files, runs over time in chunks, and their results."""
