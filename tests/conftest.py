"""Shared fixtures: the curated reference data in ../shared/data (never committed here)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


SKIP_REASON = (
    "reference data not found: set SKYMESH_DATA to a folder holding the curated "
    "files (CI uses ../shared/data)"
)
# A file every curated data folder holds; an empty or unrelated folder does not count.
MARKER_FILE = "starlink_tle_20251204.txt"


def shared_data_dir() -> Path:
    env = os.environ.get("SKYMESH_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return (REPO.parent / "shared" / "data").resolve()


def have_shared_data() -> bool:
    return (shared_data_dir() / MARKER_FILE).is_file()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the curated reference files (TLEs, gateways, borders, city lists)."""
    if not have_shared_data():
        pytest.skip(SKIP_REASON)
    return shared_data_dir()


@pytest.fixture(scope="session")
def starlink_tle_path(shared_data) -> Path:
    return shared_data / "starlink_tle_20251204.txt"
