"""Issue 20 §1-2: no single account switches a country off, and the audit catches tampering.

Each attack and each tamper runs on SQLite and on PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip(
    "fastapi", reason="the service extra is not installed: pip install -e '.[service]'"
)
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from skymesh.cli import main  # noqa: E402
from skymesh.service import audit  # noqa: E402
from skymesh.service.app import create_app, init_admin  # noqa: E402
from skymesh.service.changes import reduces_service  # noqa: E402
from skymesh.service.local import add_user  # noqa: E402

FI_OFF = {"kind": "service", "iso2": "FI", "state": "inactive"}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def svc(db_url):
    """An admin (``serve --init``) and two approvers added by the database holder."""
    tokens = {"admin": init_admin(db_url)}
    for name in ("ann", "bob"):
        tokens[name] = add_user(db_url, name, "approver")
    app = create_app(db_url)
    client = TestClient(app, base_url="https://testserver")
    yield client, tokens, app, db_url
    client.close()
    app.state.engine.dispose()


def propose(client, token, change, reason="test"):
    r = client.post("/proposals", json={"change": change, "reason": reason}, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


def approve(client, token, pid):
    return client.post(f"/proposals/{pid}/approve", json={}, headers=bearer(token))


def fi_served(client, token) -> bool:
    doc = client.get("/policy", headers=bearer(token)).json()["policy"]
    return not any(
        c["iso2"] == "FI" and any(s["state"] == "inactive" for s in c.get("service", []))
        for c in doc.get("country", [])
    )


# --------------------------------------------------------------------------- §1 attacks


def test_admin_cannot_make_an_approver_to_approve_its_own_switch_off(svc):
    client, tok, _, _ = svc
    h = bearer(tok["admin"])
    pid = propose(client, tok["admin"], FI_OFF)["id"]
    assert approve(client, tok["admin"], pid).status_code == 403
    # attack 1 of the issue: a new approver account, made by the author
    for role in ("approver", "admin"):
        r = client.post("/users", json={"name": "appr1", "role": role}, headers=h)
        assert r.status_code == 403 and "skymesh users" in r.json()["detail"]
    # nor by raising an account it made, nor by re-activating a deactivated approver
    r = client.post("/users", json={"name": "op1", "role": "viewer"}, headers=h)
    assert r.status_code == 201
    op1 = r.json()["token"]
    assert client.patch("/users/op1", json={"role": "approver"}, headers=h).status_code == 403
    assert client.patch("/users/op1", json={"role": "operator"}, headers=h).status_code == 200
    assert client.patch("/users/ann", json={"active": False}, headers=h).status_code == 200
    assert client.patch("/users/ann", json={"active": True}, headers=h).status_code == 403
    assert fi_served(client, tok["bob"])
    # an operator the admin made is the admin's: the admin cannot approve its reduction
    pid2 = propose(client, op1, dict(FI_OFF, iso2="SE"))["id"]
    r = approve(client, tok["admin"], pid2)
    assert r.status_code == 403 and "not independent" in r.json()["detail"]
    # an independent approver can approve either
    assert approve(client, tok["bob"], pid).status_code == 200
    assert approve(client, tok["bob"], pid2).status_code == 200
    assert not fi_served(client, tok["bob"])


def test_no_token_for_another_account_through_the_api(svc):
    client, tok, app, _ = svc
    pid = propose(client, tok["admin"], FI_OFF)["id"]
    # attack 2 of the issue: mint a token for an existing approver, approve with it
    r = client.post("/users/ann/tokens", headers=bearer(tok["admin"]))
    assert r.status_code == 403
    assert fi_served(client, tok["ann"])
    # re-keying yourself still works, and the new token is yours
    r = client.post("/users/ann/tokens", headers=bearer(tok["ann"]))
    assert r.status_code == 201
    assert client.get("/me", headers=bearer(r.json()["token"])).json()["name"] == "ann"
    with app.state.engine.connect() as c:
        rows = c.execute(text("SELECT actor, detail FROM audit WHERE action = 'token.create'"))
        assert [(a, json.loads(d)["user"]) for a, d in rows] == [("ann", "ann")]
    assert approve(client, tok["ann"], pid).status_code == 200


def test_an_approver_re_roled_by_the_author_does_not_count(svc):
    client, tok, _, db_url = svc
    tok["carl"] = add_user(db_url, "carl", "admin")
    r = client.patch("/users/carl", json={"role": "approver"}, headers=bearer(tok["admin"]))
    assert r.status_code == 200
    pid = propose(client, tok["admin"], FI_OFF)["id"]
    r = approve(client, tok["carl"], pid)
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    assert approve(client, tok["ann"], pid).status_code == 200


def _set(client, tok, change, author="ann", approver="bob"):
    pid = propose(client, tok[author], change)["id"]
    r = approve(client, tok[approver], pid)
    assert r.status_code == 200, r.text


def test_exit_widening_that_narrows_the_effective_exits_needs_two(svc):
    client, tok, _, _ = svc
    _set(client, tok, {"kind": "exit", "exit_countries": ["US"]})
    _set(client, tok, {"kind": "exit", "iso2": "IR", "exit_countries": ["TR", "OM", "IT", "US"]})
    # attack 3 of the issue: "any" for IR falls back to the global ["US"]
    p = propose(client, tok["ann"], {"kind": "exit", "iso2": "IR", "exit_countries": "any"})
    assert p["reduces_service"] is True
    r = approve(client, tok["ann"], p["id"])
    assert r.status_code == 403 and "two-person" in r.json()["detail"]
    ir = [c for c in client.get("/policy", headers=bearer(tok["ann"])).json()["policy"]["country"]]
    assert ir[0]["exit_countries"] == ["TR", "OM", "IT", "US"]
    assert approve(client, tok["bob"], p["id"]).status_code == 200
    # widening the global list (a real widening) takes one person
    p = propose(client, tok["ann"], {"kind": "exit", "exit_countries": "any"})
    assert p["reduces_service"] is False
    assert approve(client, tok["ann"], p["id"]).status_code == 200


def test_reduction_is_judged_again_at_approval(svc):
    client, tok, _, _ = svc
    # IR gets its own exit list (two people) ...
    p = propose(client, tok["ann"], {"kind": "exit", "iso2": "IR", "exit_countries": ["TR", "US"]})
    assert p["reduces_service"] is True
    assert approve(client, tok["bob"], p["id"]).status_code == 200
    # ... then dropping it is proposed while harmless (the global list is "any") ...
    later = propose(client, tok["ann"], {"kind": "exit", "iso2": "IR", "exit_countries": "any"})
    assert later["reduces_service"] is False
    # ... and the global list narrows before it is approved: now it reduces service
    _set(client, tok, {"kind": "exit", "exit_countries": ["US"]})
    r = approve(client, tok["ann"], later["id"])
    assert r.status_code == 403 and "two-person" in r.json()["detail"]


DOC = {"default_service": "active", "default_landing_rights": True}


@pytest.mark.parametrize(
    "before, after, reduces",
    [
        (DOC, dict(DOC, default_service="inactive"), True),
        (dict(DOC, default_service="inactive"), DOC, False),
        (dict(DOC, exit_countries=["US"]), dict(DOC, exit_countries=["US", "DE"]), False),
        (dict(DOC, exit_countries=["US", "DE"]), dict(DOC, exit_countries=["DE"]), True),
        (dict(DOC, country=[{"iso2": "IR", "censoring": True}]), DOC, False),
        (DOC, dict(DOC, country=[{"iso2": "IR", "censoring": True}]), True),
        (
            DOC,
            dict(DOC, landing=[{"iso2": "PL", "state": "denied", "from": "2030-01-01T00:00:00Z"}]),
            True,
        ),
        (DOC, dict(DOC, default_landing_rights=False, landing=[]), True),
        # only the past changes: still a reduction (the policy is history too)
        (
            DOC,
            dict(
                DOC,
                country=[
                    {
                        "iso2": "TW",
                        "service": [{"state": "inactive", "until": "2001-01-01T00:00:00Z"}],
                    }
                ],
            ),
            True,
        ),
        (DOC, dict(DOC, description="renamed"), False),
        # IR's own list dropped when the global list is narrower
        (
            dict(
                DOC, exit_countries=["US"], country=[{"iso2": "IR", "exit_countries": ["TR", "US"]}]
            ),
            dict(DOC, exit_countries=["US"], country=[{"iso2": "IR"}]),
            True,
        ),
        (
            dict(
                DOC, exit_countries=["US", "TR"], country=[{"iso2": "IR", "exit_countries": ["TR"]}]
            ),
            dict(DOC, exit_countries=["US", "TR"], country=[{"iso2": "IR"}]),
            False,
        ),
    ],
)
def test_reduces_service_compares_effective_policies(before, after, reduces):
    assert reduces_service(before, after) is reduces


def test_import_is_judged_by_its_effect(svc):
    client, tok, _, _ = svc
    _set(client, tok, FI_OFF)
    exported = client.get("/policy/export", headers=bearer(tok["ann"])).text
    r = client.post(
        "/proposals/import",
        json={"policy_toml": exported, "reason": "same"},
        headers=bearer(tok["ann"]),
    )
    assert r.status_code == 201 and r.json()["reduces_service"] is False
    off = exported + '\n[[country]]\niso2 = "SE"\n[[country.service]]\nstate = "inactive"\n'
    r = client.post(
        "/proposals/import", json={"policy_toml": off, "reason": "SE"}, headers=bearer(tok["ann"])
    )
    assert r.status_code == 201 and r.json()["reduces_service"] is True


# --------------------------------------------------------------------------- local commands


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_commands_are_local_and_audited(db_url, capsys):
    init_admin(db_url)
    code, out, _ = run(capsys, "users", "add", "dora", "--role", "approver", "--db", db_url)
    assert code == 0 and "smk_" in out
    token = out.split("keep it): ")[1].split()[0]
    code, out, _ = run(capsys, "users", "token", "dora", "--db", db_url)
    assert code == 0 and "smk_" in out
    code, out, _ = run(capsys, "users", "list", "--db", db_url, "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["dora"]["role"] == "approver" and rows["dora"]["live_tokens"] == 2
    assert run(capsys, "users", "revoke", "dora", "--db", db_url)[0] == 0
    app = create_app(db_url)
    client = TestClient(app, base_url="https://testserver")
    assert client.get("/me", headers=bearer(token)).status_code == 401
    with app.state.engine.connect() as c:
        actors = [r[0] for r in c.execute(text("SELECT actor FROM audit ORDER BY seq"))]
    client.close()
    app.state.engine.dispose()
    assert len(actors) == 4 and all(a.startswith("local:") for a in actors)
    assert run(capsys, "audit", "verify", "--db", db_url)[0] == 0
    for argv, word in [
        (["users", "add", "eve", "--role", "root"], "--role"),
        (["users", "add", "dora", "--role", "viewer"], "exists"),
        (["users", "add", "bad name", "--role", "viewer"], "NAME"),
        (["users", "revoke", "nobody"], "nobody"),
        (["users", "token", "nobody"], "nobody"),
    ]:
        code, out, err = run(capsys, *argv, "--db", db_url)
        assert code == 2 and len(err.strip().splitlines()) == 1 and word in err, (argv, err)


def test_users_commands_on_a_missing_database(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'none.sqlite3'}"
    for argv in (["users", "list"], ["users", "revoke", "x"], ["audit", "verify"]):
        code, _, err = run(capsys, *argv, "--db", url)
        assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "none.sqlite3").exists()


# --------------------------------------------------------------------------- §2 tampering


def _history(client, tok):
    """Some of everything: a switch-off, a rejection, a session, a revoked token."""
    _set(client, tok, FI_OFF)
    p = propose(client, tok["ann"], {"kind": "service", "iso2": "SE", "state": "inactive"})
    client.post(f"/proposals/{p['id']}/reject", json={"reason": "no"}, headers=bearer(tok["bob"]))
    r = client.post("/users/bob/tokens", headers=bearer(tok["bob"]))
    client.delete(f"/tokens/{r.json()['token_id']}", headers=bearer(tok["bob"]))
    _set(client, tok, {"kind": "service", "iso2": "EE", "state": "inactive"})


TAMPERS = {
    "delete the last 3 audit rows": [
        "DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit)"
    ],
    "delete every audit row": ["DELETE FROM audit"],
    "edit a policy version's document": [
        "UPDATE policy_versions SET doc = replace(doc, 'inactive', 'active')"
    ],
    "set a proposal approved": [
        "UPDATE proposals SET status = 'approved', decided_by = "
        "(SELECT id FROM users WHERE name = 'bob') WHERE status = 'rejected'"
    ],
    "promote an account": ["UPDATE users SET role = 'admin' WHERE name = 'bob'"],
    "revive a revoked token": ["UPDATE tokens SET revoked_at = NULL"],
    "add a proposal": [
        "INSERT INTO proposals (author_id, change, reason, reduces_service, status, created_at, "
        "expires_at) SELECT author_id, change, reason, reduces_service, 'pending', created_at, "
        "expires_at FROM proposals WHERE id = 1"
    ],
}


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_every_tamper_fails_verify(svc, tamper, capsys):
    client, tok, app, db_url = svc
    _history(client, tok)
    assert run(capsys, "audit", "verify", "--db", db_url)[0] == 0
    assert client.get("/audit/verify", headers=bearer(tok["ann"])).json()["ok"] is True
    with app.state.engine.begin() as c:
        for sql in TAMPERS[tamper]:
            assert c.execute(text(sql)).rowcount > 0
    code, out, _ = run(capsys, "audit", "verify", "--db", db_url)
    assert code == 1 and ("BROKEN" in out or "FAILED" in out), out
    report = client.get("/audit/verify", headers=bearer(tok["ann"])).json()
    assert report["ok"] is False


def rewrite_chain(engine, from_seq: int, edit) -> None:
    """What a database holder can do: edit entry ``from_seq`` and re-hash every entry
    after it, so the chain verifies again."""
    with engine.begin() as c:
        rows = [dict(r._mapping) for r in c.execute(text("SELECT * FROM audit ORDER BY seq"))]
        prev = audit.GENESIS
        for row in rows:
            entry = dict(row, detail=json.loads(row["detail"]))
            if entry["seq"] == from_seq:
                edit(entry)
            if entry["seq"] >= from_seq:
                entry["prev_hash"] = prev
                entry["hash"] = audit.entry_hash(entry)
                c.execute(
                    text(
                        "UPDATE audit SET actor = :a, detail = :d, prev_hash = :p, hash = :h "
                        "WHERE seq = :s"
                    ),
                    {
                        "a": entry["actor"],
                        "d": json.dumps(entry["detail"], sort_keys=True, separators=(",", ":")),
                        "p": entry["prev_hash"],
                        "h": entry["hash"],
                        "s": entry["seq"],
                    },
                )
            prev = entry["hash"]


def test_signed_checkpoint_catches_a_rewritten_chain(svc, tmp_path, capsys):
    client, tok, app, db_url = svc
    _history(client, tok)
    key, cp = tmp_path / "audit.key", tmp_path / "head.json"
    assert run(capsys, "audit", "keygen", "--key", str(key))[0] == 0
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    pub = str(key) + ".pub"
    assert (
        run(capsys, "audit", "checkpoint", "--db", db_url, "--key", str(key), "--out", str(cp))[0]
        == 0
    )
    verify = ["audit", "verify", "--db", db_url, "--checkpoint", str(cp), "--pubkey", pub]
    assert run(capsys, *verify)[0] == 0
    # the chain grows: the old checkpoint still holds
    _set(client, tok, {"kind": "service", "iso2": "LV", "state": "inactive"})
    assert run(capsys, *verify)[0] == 0
    # rewrite from the rejection on: a reason nobody compares with a table
    with app.state.engine.connect() as c:
        seq = c.execute(text("SELECT seq FROM audit WHERE action = 'reject'")).scalar()
    rewrite_chain(app.state.engine, seq, lambda e: e["detail"].update(reason="approved by phone"))
    assert run(capsys, "audit", "verify", "--db", db_url)[0] == 0  # invisible without it
    code, out, _ = run(capsys, *verify)
    assert code == 1 and "rewritten" in out
    # a checkpoint signed by another key, or edited, does not count
    other = tmp_path / "other.key"
    run(capsys, "audit", "keygen", "--key", str(other))
    doc = json.loads(cp.read_text())
    code, out, _ = run(
        capsys,
        "audit",
        "verify",
        "--db",
        db_url,
        "--checkpoint",
        str(cp),
        "--pubkey",
        str(other) + ".pub",
    )
    assert code == 1 and "another key" in out
    cp.write_text(json.dumps(dict(doc, seq=doc["seq"] - 1)))
    code, out, _ = run(capsys, "audit", "verify", "--db", db_url, "--checkpoint", str(cp))
    assert code == 1 and "signature" in out


def test_checkpoint_catches_a_cut_chain(svc, tmp_path, capsys):
    client, tok, app, db_url = svc
    _history(client, tok)
    key, cp = tmp_path / "k", tmp_path / "cp.json"
    run(capsys, "audit", "keygen", "--key", str(key))
    run(capsys, "audit", "checkpoint", "--db", db_url, "--key", str(key), "--out", str(cp))
    with app.state.engine.begin() as c:
        c.execute(text("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)"))
    code, out, _ = run(capsys, "audit", "verify", "--db", db_url, "--checkpoint", str(cp))
    assert code == 1 and "removed" in out


def test_checkpoint_bad_input_is_one_line(tmp_path, capsys, db_url):
    init_admin(db_url)
    key = tmp_path / "k"
    run(capsys, "audit", "keygen", "--key", str(key))
    junk = tmp_path / "junk.json"
    junk.write_text("{}")
    cases = [
        ["audit", "keygen", "--key", str(key)],  # exists: never replaced
        ["audit", "verify", "--db", db_url, "--checkpoint", str(tmp_path / "none")],
        ["audit", "verify", "--db", db_url, "--checkpoint", str(junk)],
        ["audit", "verify", "--db", db_url, "--pubkey", str(key) + ".pub"],
        ["audit", "checkpoint", "--db", db_url, "--key", str(junk), "--out", str(tmp_path / "o")],
        ["audit", "checkpoint", "--db", db_url, "--key", str(key), "--out", str(junk)],
    ]
    for argv in cases:
        code, _, err = run(capsys, *argv)
        assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1, (
            argv,
            err,
        )
    assert junk.read_text() == "{}"


def test_upgrade_keeps_the_controllers_of_accounts_made_before_it(svc):
    """Migration 0002 fills provenance from the audit chain of an older database."""
    client, tok, app, db_url = svc
    r = client.post(
        "/users", json={"name": "olga", "role": "operator"}, headers=bearer(tok["admin"])
    )
    olga = r.json()["token"]
    with app.state.engine.begin() as c:  # the database as revision 0001 left it
        c.execute(text("DROP TABLE account_provenance"))
        c.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    from skymesh.service import db

    db.upgrade(app.state.engine)
    with db.read(app.state.factory) as s:
        assert audit.verify_db(s)["ok"]
    pid = propose(client, olga, FI_OFF)["id"]
    r = approve(client, tok["admin"], pid)
    assert r.status_code == 403 and "not independent" in r.json()["detail"]


def test_me_tokens_lists_only_the_callers_live_api_tokens(svc):
    client, tok, _, _ = svc
    h = bearer(tok["ann"])
    mine = client.get("/me/tokens", headers=h)
    assert mine.status_code == 200
    assert len(mine.json()) == 1
    new = client.post("/users/ann/tokens", headers=h).json()
    ids = [t["token_id"] for t in client.get("/me/tokens", headers=h).json()]
    assert len(ids) == 2 and ids[1] == new["token_id"]
    assert new["token"] not in json.dumps(client.get("/me/tokens", headers=h).json())
    assert client.delete(f"/tokens/{new['token_id']}", headers=h).status_code == 200
    assert [t["token_id"] for t in client.get("/me/tokens", headers=h).json()] == ids[:1]
    # bob's list holds none of ann's
    theirs = {t["token_id"] for t in client.get("/me/tokens", headers=bearer(tok["bob"])).json()}
    assert not theirs & set(ids)
    assert client.get("/me/tokens").status_code == 401
