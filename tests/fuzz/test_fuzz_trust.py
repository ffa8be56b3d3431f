"""Fuzz the operations service's trust model (issue 20 §1-2, §7), on SQLite.

* **two-person attacks**: one person ("mallory") starts with one account of a random
  role and sends random account and proposal requests with every token she holds or
  is given (new accounts, minted tokens, raised roles, self-approvals, exit and import
  tricks). No policy version she alone puts into effect may reduce service, judged
  both by :func:`skymesh.service.changes.reduces_service` and directly on the service,
  landing and exit tables of the engine; no request is a 5xx; and the audit check
  (chain and replay against the state tables) passes on what she leaves.
* **tamper-then-verify**: after a random history and a signed checkpoint of its head,
  one random edit is made directly in SQL, to an audit row or to a state field the
  audit describes; ``verify`` (with the checkpoint) must fail, in one line.

The PostgreSQL side of both is covered case by case in tests/service/test_trust.py.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed")
pytest.importorskip("cryptography", reason="the service extra is not installed")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import example, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sqlalchemy import text  # noqa: E402

from skymesh.errors import SkyMeshError  # noqa: E402
from skymesh.policy.rules import (  # noqa: E402
    exit_allowed,
    landing_allowed,
    policy_from_dict,
    service_active,
)
from skymesh.service import audit, db  # noqa: E402
from skymesh.service import checkpoint as ckpt  # noqa: E402
from skymesh.service.app import create_app, init_admin  # noqa: E402
from skymesh.service.changes import reduces_service  # noqa: E402
from skymesh.service.local import add_user  # noqa: E402

kit = sys.modules["skymesh_tests_fuzzkit"]  # tests/fuzz/fuzzkit.py, loaded by conftest

COUNTRIES = ["FI", "IR", "TW", "US", "TR", "PL"]
TIMES = [None, "2020-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2031-06-01T00:00:00Z"]
PROBE_TIMES = ["2019-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z",
               "2040-01-01T00:00:00Z"]  # fmt: skip
EXIT_LISTS = st.one_of(st.just("any"), st.lists(st.sampled_from(COUNTRIES), max_size=4))

# what honest people set up before mallory acts: something to narrow and to restore
SEED = [
    {"kind": "exit", "exit_countries": ["US", "TR"]},
    {"kind": "exit", "iso2": "IR", "exit_countries": ["TR", "OM", "IT", "US"]},
    {"kind": "service", "iso2": "TW", "state": "inactive", "from": "2026-01-01T00:00:00Z"},
    {"kind": "landing", "iso2": "PL", "state": "denied", "from": "2020-01-01T00:00:00Z"},
]


@pytest.fixture(scope="module", autouse=True)
def cheap_hashes():
    """argon2's cheapest profile: the fuzz is about who may act, not the hash cost."""
    import shutil

    from argon2 import PasswordHasher, profiles

    import skymesh.service.auth as auth

    saved = auth._hasher
    auth._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    auth._hasher = saved
    for folder, _ in _TEMPLATES.values():
        shutil.rmtree(folder, ignore_errors=True)
    _TEMPLATES.clear()


def _window(draw_from, draw_until):
    out = {}
    if draw_from:
        out["from"] = draw_from
    if draw_until and (not draw_from or draw_until > draw_from):
        out["until"] = draw_until
    return out


@st.composite
def changes(draw):
    kind = draw(st.sampled_from(["service", "landing", "censoring", "exit", "exit", "import"]))
    iso2 = draw(st.sampled_from(COUNTRIES))
    if kind in ("service", "landing"):
        states = ["active", "inactive"] if kind == "service" else ["granted", "denied"]
        c = {"kind": kind, "iso2": iso2, "state": draw(st.sampled_from(states))}
        return dict(c, **_window(draw(st.sampled_from(TIMES)), draw(st.sampled_from(TIMES))))
    if kind == "censoring":
        return {"kind": kind, "iso2": iso2, "censoring": draw(st.booleans())}
    if kind == "exit":
        c = {"kind": "exit", "exit_countries": draw(EXIT_LISTS)}
        return dict(c, iso2=iso2) if draw(st.booleans()) else c
    lines = ['default_service = "active"', f"exit_countries = {json.dumps(draw(EXIT_LISTS))}"]
    for code in draw(st.lists(st.sampled_from(COUNTRIES), unique=True, max_size=3)):
        lines += ["[[country]]", f'iso2 = "{code}"']
        if draw(st.booleans()):
            lines.append(
                f"exit_countries = {json.dumps(draw(st.lists(st.sampled_from(COUNTRIES))))}"
            )
    return {"kind": "import", "policy_toml": "\n".join(lines) + "\n"}


ROLES = ["viewer", "operator", "approver", "admin"]
ACTIONS = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(ROLES)),
    st.tuples(st.just("role"), st.sampled_from(["ann", "bob", "mine"]), st.sampled_from(ROLES)),
    st.tuples(st.just("active"), st.sampled_from(["ann", "bob", "mine"]), st.booleans()),
    st.tuples(st.just("mint"), st.sampled_from(["ann", "bob", "mine", "self"])),
    st.tuples(st.just("propose"), changes()),
    st.tuples(st.just("propose"), changes()),
    st.tuples(st.just("approve"), st.integers(0, 9)),
    st.tuples(st.just("approve"), st.integers(0, 9)),
    st.tuples(st.just("reject"), st.integers(0, 9)),
)


_TEMPLATES: dict[str, tuple[Path, dict]] = {}


def _template(role: str) -> tuple[Path, dict]:
    """A database made once per ``role`` (accounts, seed policy), copied for each example."""
    if role not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="skymesh-trust-template-"))
        url = f"sqlite:///{folder / 'svc.sqlite3'}"
        tokens = {"root": init_admin(url, "root")}
        for name in ("ann", "bob"):
            tokens[name] = add_user(url, name, "approver")
        app = create_app(url)
        with TestClient(app, base_url="https://testserver") as client:
            for change in SEED:
                h = {"Authorization": f"Bearer {tokens['ann']}"}
                r = client.post("/proposals", json={"change": change, "reason": "seed"}, headers=h)
                h = {"Authorization": f"Bearer {tokens['bob']}"}
                assert client.post(f"/proposals/{r.json()['id']}/approve", headers=h).is_success
        app.state.engine.dispose()
        tokens["m0"] = add_user(url, "m0", role)
        _TEMPLATES[role] = (folder, tokens)
    return _TEMPLATES[role]


FI_OFF = {"kind": "service", "iso2": "FI", "state": "inactive"}
IR_ANY = {"kind": "exit", "iso2": "IR", "exit_countries": "any"}
ATTACKS = [
    [],
    # the three, then variations: an operator the admin made, a raised viewer,
    # a token minted for an honest approver, an approver made inside the same request run
    [(("create", "approver"), "m0"), (("propose", FI_OFF), "m0"), (("approve", -1), "m1")],
    [(("mint", "ann"), "m0"), (("propose", FI_OFF), "m0"), (("approve", -1), "ann")],
    [(("propose", IR_ANY), "m0"), (("approve", -1), "m0")],
    [(("create", "operator"), "m0"), (("propose", FI_OFF), "m1"), (("approve", -1), "m0")],
    [
        (("create", "viewer"), "m0"),
        (("role", "mine", "approver"), "m0"),
        (("propose", FI_OFF), "m0"),
        (("approve", -1), "m1"),
    ],
    [
        (("active", "bob", False), "m0"),
        (("active", "bob", True), "m0"),
        (("mint", "bob"), "m0"),
        (("propose", FI_OFF), "m0"),
        (("approve", -1), "bob"),
    ],
]


class World:
    """A fresh SQLite service: admin (init), two honest approvers (local), the seed
    policy approved by them, and mallory's first account (local, ``role``)."""

    def __init__(self, role: str):
        import shutil

        folder, tokens = _template(role)
        self.dir = tempfile.TemporaryDirectory(prefix="skymesh-trust-")
        for f in folder.iterdir():
            shutil.copy(f, Path(self.dir.name) / f.name)
        self.url = f"sqlite:///{Path(self.dir.name) / 'svc.sqlite3'}"
        self.app = create_app(self.url, migrate=False)
        self.client = TestClient(self.app, base_url="https://testserver")
        self.seed_versions = self.versions()
        self.mallory = {"m0": tokens["m0"]}  # account name -> token
        self.pids: list[int] = []

    def call(self, token, method, path, body=None):
        """One request as ``token``: ``(status, JSON body or None)``."""
        kw: dict = {"headers": {"Authorization": f"Bearer {token}"}}
        if body is not None:
            kw["json"] = body
        r = getattr(self.client, method)(path, **kw)
        is_json = r.headers.get("content-type", "").startswith("application/json")
        return r.status_code, (r.json() if is_json else None)

    def versions(self) -> list[tuple[int, dict]]:
        with self.app.state.engine.connect() as c:
            rows = c.execute(text("SELECT id, doc FROM policy_versions ORDER BY id"))
            return [(i, json.loads(d)) for i, d in rows]

    def close(self):
        self.client.close()
        self.app.state.engine.dispose()
        self.dir.cleanup()


def act(world: World, action, who: int, n: int):
    """Mallory sends one request; returns (status, body)."""
    names = sorted(world.mallory)
    if isinstance(who, str):
        me = who if who in world.mallory else names[0]
    else:
        me = names[who % len(names)]
    who = names.index(me)
    token = world.mallory[me]
    kind = action[0]
    if kind == "create":
        name = f"m{n + 1}"
        status, body = world.call(token, "post", "/users", {"name": name, "role": action[1]})
        if status == 201:
            world.mallory[name] = body["token"]
        return status, body
    if kind in ("role", "active", "mint"):
        target = {"mine": names[(who + 1) % len(names)], "self": me}.get(action[1], action[1])
        if kind == "mint":
            status, body = world.call(token, "post", f"/users/{target}/tokens")
            if status == 201:
                world.mallory[target] = body["token"]  # a token she now holds
            return status, body
        field = "role" if kind == "role" else "active"
        return world.call(token, "patch", f"/users/{target}", {field: action[2]})
    if kind == "propose":
        status, body = world.call(
            token, "post", "/proposals", {"change": action[1], "reason": "fuzz"}
        )
        if status == 201:
            world.pids.append(body["id"])
        return status, body
    if not world.pids:
        return world.call(token, "get", "/me")
    pid = world.pids[action[1] % len(world.pids)]
    body = {"reason": "fuzz"}
    return world.call(token, "post", f"/proposals/{pid}/{kind}", body)


def _tables(doc: dict):
    p = policy_from_dict(doc, source="policy")
    return (
        service_active(p, COUNTRIES + ["DE"], PROBE_TIMES),
        landing_allowed(p, COUNTRIES + ["DE"], PROBE_TIMES),
        [exit_allowed(p, c, COUNTRIES + ["DE", "OM", "IT"], PROBE_TIMES) for c in COUNTRIES],
    )


def _never_reduced(world: World) -> None:
    versions = world.versions()
    prev = world.seed_versions[-1][1]
    for vid, doc in versions[len(world.seed_versions) :]:
        if reduces_service(prev, doc):
            raise AssertionError(f"policy version {vid}, made by mallory alone, reduces service")
        (s0, l0, e0), (s1, l1, e1) = _tables(prev), _tables(doc)
        lost = (s0 & ~s1).any() or (l0 & ~l1).any() or any((a & ~b).any() for a, b in zip(e0, e1))
        if lost:
            raise AssertionError(f"policy version {vid} serves less than the one before")
        prev = doc


def _with_known_attacks(test):
    """Every known attack runs as an explicit example, besides the drawn ones."""
    for attack in ATTACKS[1:]:
        test = example(role="admin", attack=attack, actions=[])(test)
    return example(role="approver", attack=ATTACKS[3], actions=[])(test)


@kit.budget(12, 200)
@_with_known_attacks
@given(
    role=st.sampled_from(["admin", "admin", "approver", "operator"]),
    attack=st.sampled_from(ATTACKS),
    actions=st.lists(st.tuples(ACTIONS, st.integers(0, 5)), max_size=12),
)
def test_one_person_never_reduces_service(fuzz, role, attack, actions):
    world = World(role)
    actions = attack + actions
    try:
        for n, (action, who) in enumerate(actions):

            def send(action=action, who=who, n=n):
                status, body = act(world, action, who, n)
                if status >= 500:
                    raise RuntimeError(f"{action[0]}: HTTP {status}: {body}")
                if status >= 400:
                    raise SkyMeshError((body or {}).get("detail", f"HTTP {status}"))
                return status

            fuzz.check(f"trust.request.{action[0]}", send, why=repr(action)[:300])

        def outcome():
            _never_reduced(world)
            with db.read(world.app.state.factory) as s:
                report = audit.verify_db(s)
            if not report["ok"]:
                raise AssertionError(f"the audit check fails on an untampered history: {report}")

        fuzz.check("trust.single-person", outcome, why=f"{role}: {actions!r}"[:1000])
    finally:
        world.close()


# --------------------------------------------------------------------------- tampers

STATE_TAMPERS = [
    "UPDATE users SET role = CASE role WHEN 'admin' THEN 'viewer' ELSE 'admin' END "
    "WHERE id = (SELECT min(id) + {k} % count(*) FROM users)",
    "UPDATE users SET active = NOT active WHERE id = (SELECT min(id) + {k} % count(*) FROM users)",
    "UPDATE tokens SET revoked_at = CASE WHEN revoked_at IS NULL THEN created_at END "
    "WHERE id = (SELECT min(id) + {k} % count(*) FROM tokens)",
    "UPDATE tokens SET user_id = (SELECT max(id) FROM users) "
    "WHERE id = (SELECT min(id) FROM tokens) AND user_id != (SELECT max(id) FROM users)",
    "DELETE FROM tokens WHERE id = (SELECT min(id) + {k} % count(*) FROM tokens)",
    "INSERT INTO tokens (lookup, user_id, kind, secret_hash, created_at, expires_at) "
    "SELECT 'f{k:015d}', user_id, 'api', secret_hash, created_at, expires_at FROM tokens "
    "WHERE id = (SELECT min(id) FROM tokens)",
    "UPDATE proposals SET status = CASE status WHEN 'approved' THEN 'pending' ELSE 'approved' "
    "END WHERE id = (SELECT min(id) + {k} % count(*) FROM proposals)",
    "UPDATE proposals SET reduces_service = NOT reduces_service "
    "WHERE id = (SELECT min(id) + {k} % count(*) FROM proposals)",
    'UPDATE proposals SET change = \'{{"iso2":"FI","kind":"service","state":"inactive"}}\' '
    "WHERE id = (SELECT min(id) + {k} % count(*) FROM proposals) AND change NOT LIKE '%\"FI\"%'",
    "UPDATE proposals SET decided_by = (SELECT min(id) FROM users) "
    "WHERE id = (SELECT min(id) + {k} % count(*) FROM proposals) "
    "AND coalesce(decided_by, -1) != (SELECT min(id) FROM users)",
    "UPDATE policy_versions SET doc = doc || ' ' "
    "WHERE id = (SELECT min(id) + {k} % count(*) FROM policy_versions)",
    "DELETE FROM policy_versions WHERE id = (SELECT max(id) FROM policy_versions)",
    "INSERT INTO policy_versions (doc, created_at, proposal_id) "
    "SELECT doc, created_at, proposal_id FROM policy_versions "
    "WHERE id = (SELECT min(id) FROM policy_versions)",
    "INSERT INTO account_provenance (user_id, by_user_id, action, at) "
    "SELECT min(id), max(id), 'create', '2026-01-01' FROM users",
]
AUDIT_TAMPERS = [
    "DELETE FROM audit WHERE seq > (SELECT max(seq) FROM audit) - 1 - {k} % 4",
    "DELETE FROM audit",
    "DELETE FROM audit WHERE seq = 1 + {k} % (SELECT max(seq) FROM audit)",
    "UPDATE audit SET actor = 'mallory' WHERE seq = 1 + {k} % (SELECT max(seq) FROM audit)",
    "UPDATE audit SET detail = '{{\"forged\":true}}' "
    "WHERE seq = 1 + {k} % (SELECT max(seq) FROM audit)",
    "REHASH",  # rewrite the chain from an entry on, consistently (needs the checkpoint)
]


def _rehash(engine, k: int) -> None:
    with engine.begin() as c:
        rows = [dict(r._mapping) for r in c.execute(text("SELECT * FROM audit ORDER BY seq"))]
        start = 1 + k % len(rows)
        prev = audit.GENESIS
        for row in rows:
            entry = dict(row, detail=json.loads(row["detail"]))
            if entry["seq"] == start:
                entry["at"] = "1999-01-01T00:00:00.000000Z"
            if entry["seq"] >= start:
                entry["prev_hash"] = prev
                entry["hash"] = audit.entry_hash(entry)
                c.execute(
                    text("UPDATE audit SET at = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                    {
                        "a": entry["at"],
                        "p": entry["prev_hash"],
                        "h": entry["hash"],
                        "s": entry["seq"],
                    },
                )
            prev = entry["hash"]


def _with_every_tamper(test):
    """Every tamper runs once as an explicit example, besides the drawn ones."""
    for tamper in STATE_TAMPERS + AUDIT_TAMPERS:
        test = example(history=[], tamper=tamper, k=1)(test)
    return test


@kit.budget(6, 300)
@_with_every_tamper
@given(
    history=st.lists(st.tuples(ACTIONS, st.integers(0, 5)), max_size=6),
    tamper=st.sampled_from(STATE_TAMPERS + AUDIT_TAMPERS),
    k=st.integers(0, 50),
)
def test_every_tamper_fails_verify(fuzz, history, tamper, k):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    world = World("admin")
    try:
        for n, (action, who) in enumerate(history):
            act(world, action, who, n)
        with db.read(world.app.state.factory) as s:
            assert audit.verify_db(s)["ok"]
            head = audit.head_entry(s)
        key = ed25519.Ed25519PrivateKey.generate()
        cp = ckpt.make(head, key)
        if tamper == "REHASH":
            _rehash(world.app.state.engine, k)
        else:
            with world.app.state.engine.begin() as c:
                if not c.exec_driver_sql(tamper.format(k=k)).rowcount:
                    return  # the drawn edit matched no row: nothing was tampered with

        def verify():
            with db.read(world.app.state.factory) as s:
                report = audit.verify_db(s)
                why = report["why"] if not report["ok"] else None
                why = why or ckpt.check_signature(cp, key.public_key())
                why = why or ckpt.check_chain(cp, list(audit.db_entries(s)))
            if why:
                raise SkyMeshError(f"verify failed: {why}")
            return report

        fuzz.check("trust.tamper-then-verify", verify, invalid=True, why=tamper.format(k=k)[:300])
    finally:
        world.close()
