"""Shared fixtures: the curated reference data in ../shared/data (never committed here)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    env = os.environ.get("SKYMESH_DATA")
    if env and Path(env).is_dir():
        return Path(env)
    return (REPO.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the curated reference files (TLEs, gateways, borders, city lists)."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.fail(f"reference data not found at {path}: set SKYMESH_DATA to shared/data")
    return path


@pytest.fixture(scope="session")
def starlink_tle_path(shared_data) -> Path:
    return shared_data / "starlink_tle_20251204.txt"
