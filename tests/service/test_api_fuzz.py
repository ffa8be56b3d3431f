"""The OpenAPI schema fuzzed with schemathesis: no input gives a 5xx.

Bounded in `make test` (a few examples per operation); `make fuzz` sets
``SKYMESH_SERVICE_FUZZ_EXAMPLES`` for a longer campaign. Requests carry an
admin token, so they reach the handlers rather than stopping at 401.
"""

from __future__ import annotations

import os
import tempfile

import pytest

pytest.importorskip(
    "fastapi", reason="the service extra is not installed: pip install -e '.[service]'"
)
schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from skymesh.service.app import create_app, init_admin  # noqa: E402

EXAMPLES = int(os.environ.get("SKYMESH_SERVICE_FUZZ_EXAMPLES", "5"))
_URL = f"sqlite:///{tempfile.mkdtemp(prefix='skymesh-fuzz-')}/svc.sqlite3"
_TOKEN = init_admin(_URL)
APP = create_app(_URL)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_no_server_errors(case):
    response = case.call(headers={"Authorization": f"Bearer {_TOKEN}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
