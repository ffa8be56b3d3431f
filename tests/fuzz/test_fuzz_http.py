"""Fuzz the operations service with hostile HTTP: no request a client can send is a 5xx.

Each area sends generated requests to the app (in process, SQLite) and sorts every
answer: a 2xx is *accepted*, a 4xx whose JSON ``detail`` is one clean line is
*rejected cleanly*, anything else (a 5xx, a 4xx without a reason, an input built to
be refused and taken) is *bad*. Areas: dates at the ends of the calendar with
offsets, ids far past 2^63 in paths and queries, deeply nested TOML, NUL characters
in every kind of text, forwarded-address headers against the sign-in limit, chunked
bodies around the size limit, and unsigned writes with arbitrary JSON (401 before
any word about the body). The real-server checks (memory under chunked bodies,
uvicorn's proxy headers) are tests/service/test_hostile.py.
"""

from __future__ import annotations

import json
import sys
import tempfile
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip(
    "fastapi", reason="the service extra is not installed: pip install -e '.[service]'"
)
from fastapi.testclient import TestClient  # noqa: E402

from skymesh.service.app import MAX_BODY_BYTES, MAX_ID, create_app, init_admin  # noqa: E402
from skymesh.service.auth import MAX_FAILURES  # noqa: E402
from skymesh.service.changes import MAX_TOML_NESTING  # noqa: E402

kit = sys.modules["skymesh_tests_fuzzkit"]  # tests/fuzz/fuzzkit.py, loaded by conftest


def _clean(text: str) -> bool:
    """One printable reason, or several mistakes at once ("N problems in ...:" then one
    printable line each, :class:`skymesh.errors.InputErrors`)."""
    lines = (text[:-1] if text.endswith("\n") else text).split("\n")
    return (
        bool(lines[0].strip())
        and all(line.isprintable() for line in lines)
        and (len(lines) == 1 or " problems in " in lines[0])
        and "Traceback" not in text
    )


class Service:
    """One app over a fresh SQLite file, with an admin token (made on first use)."""

    def __init__(self):
        url = f"sqlite:///{tempfile.mkdtemp(prefix='skymesh-fuzz-http-')}/svc.sqlite3"
        self.token = init_admin(url)
        self.app = create_app(url)
        self.client = TestClient(
            self.app, base_url="https://testserver", raise_server_exceptions=False
        )
        self.auth = {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def services():
    made: dict[str, Service] = {}

    def get(area: str) -> Service:
        if area not in made:
            made[area] = Service()
        return made[area]

    yield get
    for s in made.values():
        s.client.close()
        s.app.state.engine.dispose()


def answer(fuzz, area: str, response, why: str, *, invalid=False, status=None) -> str:
    """Sort one response (see the module docstring); ``status``: the codes allowed."""
    code = response.status_code
    if code >= 500:
        return fuzz._record(area, "bad", f"{why}: {code} {response.text[:300]}")
    if status is not None and code not in status:
        return fuzz._record(area, "bad", f"{why}: {code} (expected {status}) {response.text[:200]}")
    if code < 400:
        if invalid:
            return fuzz._record(area, "bad", f"{why}: {code}, accepted an invalid input")
        return fuzz._record(area, "accepted")
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if not isinstance(detail, str) or not _clean(detail):
        return fuzz._record(
            area, "bad", f"{why}: {code} without a clean reason: {response.text[:300]}"
        )
    return fuzz._record(area, "rejected")


# --------------------------------------------------------------------------- dates

OFFSETS = ["Z", "+00:00", "+05:00", "-05:00", "+23:59", "-23:59", "+14:00", "-12:00", ""]


@st.composite
def iso_times(draw, years=st.integers(1, 9999), edges=(1, 2, 1899, 1900, 2199, 2200, 9998, 9999)):
    year = draw(st.one_of(st.sampled_from(edges), years))
    text = (
        f"{year:04d}-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}"
        f"T{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
        f":{draw(st.integers(0, 59)):02d}"
    )
    if draw(st.booleans()):
        text += "." + str(draw(st.integers(0, 999_999))).zfill(draw(st.sampled_from([3, 6])))[:6]
    text += draw(st.sampled_from(OFFSETS))
    if draw(st.integers(0, 9)) == 0:
        text = draw(kit.edited(text, max_edits=2))
    return text


@kit.budget(40, campaign=800)
@given(
    when=iso_times(),
    key=st.sampled_from(["from", "until"]),
    kind=st.sampled_from(["service", "landing"]),
)
def test_dates_at_the_ends_of_the_calendar(services, fuzz, when, key, kind):
    svc = services("dates")
    state = {"service": "inactive", "landing": "denied"}[kind]
    change = {"kind": kind, "iso2": "PL", "state": state, key: when}
    r = svc.client.post("/proposals", json={"change": change, "reason": "fuzz"}, headers=svc.auth)
    answer(fuzz, "http dates", r, f"change.{key} = {when!r}", status={201, 422})


@kit.budget(25, campaign=500)
@given(
    when=iso_times(
        # a year clear of the range, so that no offset brings the instant back into it
        years=st.integers(1, 1898) | st.integers(2201, 9999),
        edges=(1, 2, 1898, 2201, 9999),
    )
)
def test_readout_instants_outside_the_range(services, fuzz, when):
    svc = services("dates")
    r = svc.client.get("/readouts/country/GR", params={"at": when}, headers=svc.auth)
    answer(fuzz, "http dates", r, f"at = {when!r}", invalid=True, status={422})


# --------------------------------------------------------------------------- ids

huge_ints = st.one_of(
    st.integers(-(2**80), 2**80),
    st.sampled_from([MAX_ID, MAX_ID + 1, 2**63 - 1, 2**63, 2**64, 2**70, -1, 0, -(2**63) - 1]),
)
id_texts = st.one_of(
    huge_ints.map(str),
    st.sampled_from(["1e3", "0x10", " 1", "1 ", "+1", "1_000", "\u0661", "9" * 400, "", "-0"]),
)


@kit.budget(40, campaign=800)
@given(
    pid=id_texts,
    route=st.sampled_from(["approve", "reject", "effect"]),
    after=id_texts,
    limit=id_texts,
)
def test_ids_past_the_integer_columns(services, fuzz, pid, route, after, limit):
    svc = services("ids")  # no proposal exists here, so no read-out is computed
    method = "GET" if route == "effect" else "POST"
    r = svc.client.request(
        method, f"/proposals/{pid}/{route}", json={"reason": "fuzz"}, headers=svc.auth
    )
    answer(fuzz, "http ids", r, f"{method} /proposals/{pid!r}/{route}", status={404, 405, 422})
    r = svc.client.get("/audit", params={"after": after, "limit": limit}, headers=svc.auth)
    answer(fuzz, "http ids", r, f"/audit?after={after!r}&limit={limit!r}", status={200, 422})


# --------------------------------------------------------------------------- nested TOML

OPENERS = {"[": "]", "{a = ": "}"}


@st.composite
def nested_tomls(draw):
    depth = draw(st.one_of(st.integers(1, 80), st.integers(60, 5000)))
    kinds = draw(st.lists(st.sampled_from(sorted(OPENERS)), min_size=1, max_size=3))
    opens = [kinds[i % len(kinds)] for i in range(depth)]
    inner = draw(st.sampled_from(["1", '"x"', "", "[]"]))
    value = "".join(opens) + inner + "".join(OPENERS[o] for o in reversed(opens))
    key = draw(st.sampled_from(["description", "exit_countries", "x"]))
    text = f"{key} = {value}\n"
    if draw(st.booleans()):  # the same brackets inside a string and a comment do not count
        text = f'note = "{"[" * depth}"\n# {"{" * depth}\n' + text
    return depth, text


@kit.budget(30, campaign=600)
@given(case=nested_tomls(), where=st.sampled_from(["import", "change", "scenario"]))
def test_nested_toml(services, fuzz, case, where):
    depth, text = case
    svc = services("toml")
    if where == "import":
        r = svc.client.post(
            "/proposals/import", json={"policy_toml": text, "reason": "fuzz"}, headers=svc.auth
        )
    elif where == "change":
        change = {"kind": "import", "policy_toml": text}
        r = svc.client.post(
            "/proposals", json={"change": change, "reason": "fuzz"}, headers=svc.auth
        )
    else:
        r = svc.client.put("/scenarios/fuzz", json={"toml": text}, headers=svc.auth)
    too_deep = depth > MAX_TOML_NESTING
    answer(
        fuzz,
        "http nested toml",
        r,
        f"{where}: {depth} levels",
        invalid=too_deep,
        status={422, 413} if too_deep else None,
    )


# --------------------------------------------------------------------------- NUL text


def _with_nul(text: str, at: int) -> str:
    at %= len(text) + 1
    return text[:at] + "\x00" + text[at:]


@kit.budget(40, campaign=800)
@given(
    where=st.sampled_from(
        ["reason", "policy_toml", "toml", "site", "login", "query", "path", "header", "key"]
    ),
    text=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20),
    at=st.integers(0, 30),
)
def test_nul_text(services, fuzz, where, text, at):
    svc = services("nul")
    c, h, nul = svc.client, svc.auth, _with_nul(text, at)
    change = {"kind": "service", "iso2": "GR", "state": "inactive"}
    if where == "reason":
        r = c.post("/proposals", json={"change": change, "reason": nul}, headers=h)
    elif where == "policy_toml":
        body = {"policy_toml": f'description = "x"  # {nul}', "reason": "x"}
        r = c.post("/proposals/import", json=body, headers=h)
    elif where == "toml":
        r = c.put("/scenarios/nul", json={"toml": "# " + nul}, headers=h)
    elif where == "site":
        site = {"name": nul or "\x00", "kind": "pop", "lat_deg": 0, "lon_deg": 0, "iso2": "GR"}
        r = c.put("/sites", json={"sites": [site]}, headers=h)
    elif where == "login":
        r = c.post("/auth/login", json={"name": nul, "token": "smk_0123456789abcdef_x"})
    elif where == "query":
        r = c.get("/readouts/visible", params={"place": nul}, headers=h)
    elif where == "path":
        r = c.get("/scenarios/" + quote(nul, safe=""), headers=h)
    elif where == "key":
        r = c.post("/proposals", json={"change": {**change, nul: 1}, "reason": "x"}, headers=h)
    else:
        value = nul.encode("utf-8", "replace").replace(b"\r", b"").replace(b"\n", b"")
        r = c.get("/me", headers={**h, "X-Note": value})
    answer(fuzz, "http nul text", r, f"{where}: {nul!r}", invalid=True, status={422})


# --------------------------------------------------------------------------- forwarded headers

FORWARDED_NAMES = ["X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Client-IP", "True-Client-IP"]
addresses = st.one_of(
    st.ip_addresses().map(str),
    st.sampled_from(["127.0.0.1", "::1", "unknown", "", "for=1.2.3.4", "1.2.3.4, 5.6.7.8"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)
_logins = {"n": 0}


@kit.budget(30, campaign=600)
@given(
    headers=st.dictionaries(st.sampled_from(FORWARDED_NAMES), addresses, max_size=3),
    name=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12),
)
def test_forwarded_headers_do_not_reset_the_sign_in_limit(services, fuzz, headers, name):
    svc = services("forwarded")
    r = svc.client.post(
        "/auth/login",
        json={"name": name, "token": "smk_0123456789abcdef_wrong"},
        headers=headers,
    )
    _logins["n"] += 1
    # every failure comes from one connection's address: past the limit, all are 429
    expected = {401} if _logins["n"] <= MAX_FAILURES else {429}
    answer(fuzz, "http forwarded headers", r, f"{headers!r}", invalid=True, status=expected)


# --------------------------------------------------------------------------- chunked bodies


@kit.budget(30, campaign=600)
@given(
    sizes=st.lists(
        st.one_of(st.integers(0, 4096), st.integers(60_000, 140_000)), min_size=1, max_size=6
    ),
    path=st.sampled_from(["/proposals", "/users", "/auth/login", "/sites", "/health"]),
    signed_in=st.booleans(),
)
def test_chunked_bodies(services, fuzz, sizes, path, signed_in):
    svc = services("chunked")
    chunks = [b"{" + b" " * max(n - 1, 0) if i == 0 else b" " * n for i, n in enumerate(sizes)]
    total = sum(len(c) for c in chunks)
    method = "PUT" if path == "/sites" else "GET" if path == "/health" else "POST"
    r = svc.client.request(
        method,
        path,
        content=iter(chunks),
        headers={**(svc.auth if signed_in else {}), "Content-Type": "application/json"},
    )
    if total > MAX_BODY_BYTES:
        answer(fuzz, "http chunked bodies", r, f"{total} B", invalid=True, status={413})
    else:
        answer(fuzz, "http chunked bodies", r, f"{total} B to {path}", status=None)
        if r.status_code == 413:
            fuzz._record("http chunked bodies", "bad", f"{total} B refused as too large")


# --------------------------------------------------------------------------- unsigned writes

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


@kit.budget(40, campaign=800)
@given(
    route=st.sampled_from(
        [
            ("POST", "/users"),
            ("PATCH", "/users/ann"),
            ("POST", "/users/ann/tokens"),
            ("DELETE", "/tokens/0123456789abcdef"),
            ("POST", "/proposals"),
            ("POST", "/proposals/import"),
            ("POST", "/proposals/1/approve"),
            ("POST", "/proposals/1/reject"),
            ("PUT", "/sites"),
            ("PUT", "/scenarios/x"),
            ("POST", "/auth/logout"),
        ]
    ),
    body=st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=40)),
    token=st.sampled_from([None, "smk_0123456789abcdef_wrong", "garbage", ""]),
)
def test_unsigned_writes_are_401_whatever_the_body(services, fuzz, route, body, token):
    svc = services("unsigned")
    method, path = route
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    r = svc.client.request(method, path, content=body, headers=headers)
    answer(
        fuzz,
        "http unsigned writes",
        r,
        f"{method} {path} {body[:60]!r}",
        invalid=True,
        status={401},
    )
