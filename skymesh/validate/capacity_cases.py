"""Hook for capacity validation rows (throughput, per-satellite capacity, users per cell).

This module holds no case yet; the capacity work adds its rows here. Each row is a
:class:`skymesh.validate.cases.Case` registered at import time::

    from skymesh.validate.cases import Case, register

    def _per_sat_downlink(ctx):
        ...                                   # run a small SkyMesh computation
        return value, "one-line note on how it was computed"

    register(Case(
        id="sat-downlink-v2mini",             # lower case, dashes, unique
        title="Per-satellite downlink, V2 Mini",
        published=96.0, unit="Gbit/s",
        conditions="what the published figure measures, and how SkyMesh reproduces it",
        source="original source (paper, filing, report)", status="D/U",
        band=(0.5, 2.0),                      # on SkyMesh / published, chosen first
        justification="one line: why this band, written before the model ran",
        compute=_per_sat_downlink,
        quick=False,                          # True: part of `skymesh validate --quick`
        needs_data=False))                    # True: uses ctx.data(NAME), skipped if absent

``compute(ctx)`` gets a :class:`skymesh.validate.cases.Context`: ``ctx.data(name)`` is a
curated reference file (raises ``CaseSkipped`` when absent) and ``ctx.cached(key, make)``
shares work between cases. :func:`skymesh.validate.cases.all_cases` imports this module,
so a case registered here appears in ``skymesh validate``, its Markdown and JSON, and (if
``quick``) in the test run of tests/validate/.
"""

from __future__ import annotations
