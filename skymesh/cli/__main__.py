"""`python -m skymesh.cli`."""

from skymesh.cli import run

run()
