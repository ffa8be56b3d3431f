"""The operations service: the service policy held as state, changed under rules, audited.

A FastAPI app (:func:`skymesh.service.app.create_app`) over SQLAlchemy 2
storage (SQLite by default, PostgreSQL by URL; schema by Alembic
migrations). It holds the policy SkyMesh models (per-country service,
landing rights, exit rules, censoring countries), accounts with roles, a
two-person rule for changes that reduce service, and a hash-chained audit
log written in the same transaction as each change. ``skymesh serve`` runs
it; ``skymesh audit verify`` checks the chain.

Modules, in the order they build on each other: ``models`` (tables),
``db`` (engines, migrations, write transactions), ``audit`` (the chain),
``auth`` (tokens, sessions, roles), ``changes`` (policy edits and whether
they reduce service), ``proposals`` (the two-person rule), ``readouts``
(the engine's answers for an instant), ``app`` (HTTP), ``dashboard``.
"""
