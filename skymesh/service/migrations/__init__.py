"""Alembic migrations of the service's schema (run by :func:`skymesh.service.db.upgrade`)."""
