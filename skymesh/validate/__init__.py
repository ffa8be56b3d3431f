"""Validation: SkyMesh's figures against published measurements, case by case.

``skymesh validate`` runs :func:`skymesh.validate.cases.run_cases` and prints the table
:mod:`skymesh.validate.report` renders (also written as Markdown and JSON).
"""
