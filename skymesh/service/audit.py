"""The hash-chained audit log: append in the change's own transaction, verify anywhere.

Each entry's canonical form is the JSON object of its fields ``seq``, ``at``
(UTC ISO 8601), ``actor``, ``action``, ``detail`` (an object) and
``prev_hash``, with sorted keys, no spaces and UTF-8 text; its ``hash`` is
the SHA-256 of that form, and the next entry carries it as ``prev_hash``
(64 zeros before the first). Changing, removing or reordering any entry
breaks every hash from there on, so :func:`verify_entries` names the first
broken entry. The JSON Lines export holds exactly these fields, so the same
check runs offline on an export. Secrets (tokens, hashes of them) are never
part of an entry; a token's public lookup id (``token_id``) is.

A chain that verifies can still have lost its tail, or be missing entirely,
with the state tables edited to match nothing. So :func:`verify_db` also
*replays* the chain (:func:`replay`: accounts, their roles and provenance,
tokens and sessions, proposals and their decisions, policy versions and the
SHA-256 of each version's document, saved scenarios, site counts) and compares
what it rebuilds with the state tables (:func:`state_problems`): a row without
its entry, or an entry without its row, fails. What neither check can see is
a chain rewritten consistently from some entry on by whoever holds the
database; a signed checkpoint (:mod:`skymesh.service.checkpoint`) kept
elsewhere catches that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymesh.service.models import (
    AuditEntry,
    PolicyVersion,
    Proposal,
    Provenance,
    SavedScenario,
    Site,
    Token,
    User,
)

GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor", "action", "detail", "prev_hash")


def canonical(entry: dict) -> bytes:
    """The bytes an entry's hash is taken over (see the module docstring)."""
    return json.dumps(
        {k: entry[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def sha256_text(text: str) -> str:
    """SHA-256 (hex) of ``text`` as UTF-8: how a policy version's document is audited."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_local(actor: str) -> bool:
    """Whether ``actor`` is the database holder acting locally (``local:<os user>``), or
    the service itself (``service``), rather than an account."""
    return actor == "service" or actor.startswith("local:")


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


def utc_iso(when: datetime | None = None) -> str:
    when = when or datetime.now(timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append(session: Session, actor: str, action: str, detail: dict) -> AuditEntry:
    """Append one entry in ``session``'s transaction (which must hold the writer lock)."""
    last = session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar()
    entry = {
        "seq": 1 if last is None else last.seq + 1,
        "at": utc_iso(),
        "actor": actor,
        "action": action,
        "detail": detail,
        "prev_hash": GENESIS if last is None else last.hash,
    }
    row = AuditEntry(
        seq=entry["seq"],
        at=entry["at"],
        actor=actor,
        action=action,
        detail=json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        prev_hash=entry["prev_hash"],
        hash=entry_hash(entry),
    )
    session.add(row)
    session.flush()
    return row


def head_entry(session: Session) -> dict | None:
    """The last entry (as :func:`row_dict`), ``None`` for an empty chain."""
    row = session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar()
    return None if row is None else row_dict(row)


def row_dict(row: AuditEntry) -> dict:
    """An entry as the plain dict of the export (``detail`` parsed)."""
    return {
        "seq": row.seq,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "detail": json.loads(row.detail),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def verify_entries(entries: Iterable[dict]) -> dict:
    """Recompute the chain; ``{"ok", "entries", "first_broken", "why"}``.

    ``first_broken`` is the ``seq`` (or, for an unreadable record, the
    1-based position) of the first entry whose hash, link or numbering is
    wrong, ``None`` when all hold.
    """
    prev, n = GENESIS, 0
    for n, entry in enumerate(entries, start=1):
        seq = entry.get("seq", n) if isinstance(entry, dict) else n
        try:
            if not isinstance(entry, dict) or any(k not in entry for k in FIELDS + ("hash",)):
                return _broken(n, seq, "the record lacks fields")
            if entry["seq"] != n:
                return _broken(n, seq, f"expected entry {n} here (an entry removed or moved)")
            if entry["prev_hash"] != prev:
                return _broken(n, seq, "its prev_hash is not the previous entry's hash")
            if entry_hash(entry) != entry["hash"]:
                return _broken(n, seq, "its content does not match its hash (edited)")
        except (TypeError, ValueError):
            return _broken(n, seq, "the record cannot be read")
        prev = entry["hash"]
    return {"ok": True, "entries": n, "first_broken": None, "why": None}


def _broken(n: int, seq, why: str) -> dict:
    return {"ok": False, "entries": n, "first_broken": seq, "why": why}


def db_entries(session: Session) -> Iterable[dict]:
    """Every entry in ``seq`` order, streamed."""
    for row in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        try:
            yield row_dict(row)
        except ValueError:  # detail is not JSON: edited
            yield {"seq": row.seq, "broken": True}


def jsonl_entries(path) -> Iterable[dict]:
    """Entries of a JSON Lines export; an unparsable line yields a record that fails.

    The export is read through :func:`skymesh.inputs.read_input_text` (a regular file,
    capped, UTF-8: else one ``InputError`` naming it); a line nested too deeply is broken.
    """
    from skymesh.inputs import loads_json, read_input_text

    for line in read_input_text(path, "audit export").splitlines():
        if line.strip():
            try:
                yield loads_json(line, path, "audit export line")
            except ValueError:  # InputError included
                yield {"broken": True}


def export_jsonl(session: Session, fh) -> int:
    n = 0
    for entry in db_entries(session):
        fh.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
        n += 1
    return n


# --------------------------------------------------------------------------- replay


def replay(entries: Iterable[dict]) -> dict:
    """The state the audit chain describes (see the module docstring).

    ``entries`` are verified chain entries in order. Returns a dict of
    ``users`` (name -> {role, active}), ``tokens`` (lookup -> {user, kind,
    revoked}), ``provenance`` (set of (user, by, action)), ``proposals`` (id ->
    {author, change, status, decided_by, reduces_service}), ``versions`` (id ->
    {proposal, doc_sha256}), ``scenarios`` (name -> saved_by), ``sites`` ({kind:
    count} or {"total": n}, ``None`` before any), and ``untracked_tokens``: users
    whose tokens older entries did not name (their token rows cannot be checked).
    """
    st: dict = {
        "users": {},
        "tokens": {},
        "provenance": set(),
        "proposals": {},
        "versions": {},
        "scenarios": {},
        "sites": None,
        "untracked_tokens": set(),
    }
    for e in entries:
        actor, action, d = e["actor"], e["action"], e["detail"]
        if not isinstance(d, dict):
            continue
        if action == "user.create":
            st["users"][d["user"]] = {"role": d["role"], "active": True}
            if "token_id" in d:
                st["tokens"][d["token_id"]] = {"user": d["user"], "kind": "api", "revoked": False}
            else:
                st["untracked_tokens"].add(d["user"])
            if not is_local(actor):
                st["provenance"].add((d["user"], actor, "create"))
        elif action == "user.update":
            user = st["users"].setdefault(d["user"], {"role": None, "active": None})
            changed = d.get("changed", {})
            if "role" in changed:
                user["role"] = changed["role"][1]
                if changed["role"][0] != changed["role"][1] and not is_local(actor):
                    st["provenance"].add((d["user"], actor, "role"))
            if "active" in changed:
                user["active"] = changed["active"][1]
        elif action == "user.revoke":
            st["users"].setdefault(d["user"], {"role": None, "active": None})["active"] = False
            for lookup in d.get("tokens", []):
                if lookup in st["tokens"]:
                    st["tokens"][lookup]["revoked"] = True
        elif action == "token.create":
            st["tokens"][d["token_id"]] = {"user": d["user"], "kind": "api", "revoked": False}
        elif action == "login":
            if "token_id" in d:
                st["tokens"][d["token_id"]] = {"user": actor, "kind": "session", "revoked": False}
            else:
                st["untracked_tokens"].add(actor)
        elif action in ("token.revoke", "logout"):
            if d.get("token_id") in st["tokens"]:
                st["tokens"][d["token_id"]]["revoked"] = True
        elif action == "propose":
            st["proposals"][d["proposal"]] = {
                "author": actor,
                "change": d["change"],
                "status": "pending",
                "decided_by": None,
                "reduces_service": d["reduces_service"],
            }
        elif action in ("approve", "reject", "expire"):
            p = st["proposals"].setdefault(d["proposal"], {})
            p["status"] = {"approve": "approved", "reject": "rejected"}.get(action, "expired")
            if action != "expire":
                p["decided_by"] = actor
            if "reduces_service" in d:
                p["reduces_service"] = d["reduces_service"]
        elif action == "policy.change":
            st["versions"][d["version"]] = {
                "proposal": d["proposal"],
                "doc_sha256": d.get("doc_sha256"),
            }
        elif action == "scenario.save":
            st["scenarios"][d["name"]] = actor
        elif action == "sites.replace":
            if "gateways" in d:
                st["sites"] = {"gateway": d["gateways"], "pop": d["pops"]}
            else:
                st["sites"] = {"total": d.get("sites", 0)}
    return st


def _diff(what: str, table: dict, chain: dict, problems: list[str]) -> None:
    for key in sorted(set(table) | set(chain), key=str):
        if key not in chain:
            problems.append(f"{what} {key}: in the table but in no audit entry")
        elif key not in table:
            problems.append(f"{what} {key}: in the audit trail but not in the table")
        elif table[key] != chain[key]:
            fields = sorted(k for k in table[key] if table[key][k] != chain[key].get(k))
            problems.append(
                f"{what} {key}: the table's {', '.join(fields)} differ from the audit trail"
            )


def state_problems(session: Session, st: dict) -> list[str]:
    """Where the state tables and the replayed chain ``st`` (:func:`replay`) disagree."""
    problems: list[str] = []
    names = {u.id: u.name for u in session.execute(select(User)).scalars()}
    users = {
        u.name: {"role": u.role, "active": bool(u.active)}
        for u in session.execute(select(User)).scalars()
    }
    _diff("user", users, st["users"], problems)
    tokens = {}
    for t in session.execute(select(Token)).scalars():
        owner = names.get(t.user_id, t.user_id)
        if t.lookup not in st["tokens"] and owner in st["untracked_tokens"]:
            continue  # made before tokens were audited by id
        tokens[t.lookup] = {"user": owner, "kind": t.kind, "revoked": t.revoked_at is not None}
    _diff("token", tokens, st["tokens"], problems)
    from sqlalchemy import inspect

    if inspect(session.connection()).has_table("account_provenance"):
        prov = {
            (names.get(r.user_id), names.get(r.by_user_id), r.action)
            for r in session.execute(select(Provenance)).scalars()
        }
    else:  # a database not yet upgraded (the service upgrades it at start)
        prov = set(st["provenance"])
    for item in sorted(prov ^ st["provenance"], key=str):
        where = "table" if item in prov else "audit trail"
        problems.append(f"provenance of {item[0]} ({item[2]} by {item[1]}): only in the {where}")
    proposals = {
        p.id: {
            "author": names.get(p.author_id, p.author_id),
            "change": json.loads(p.change),
            "status": p.status,
            "decided_by": names.get(p.decided_by, p.decided_by) if p.decided_by else None,
            "reduces_service": bool(p.reduces_service),
        }
        for p in session.execute(select(Proposal)).scalars()
    }
    _diff("proposal", proposals, st["proposals"], problems)
    versions = {}
    for v in session.execute(select(PolicyVersion)).scalars():
        audited = st["versions"].get(v.id, {})
        digest = sha256_text(v.doc) if audited.get("doc_sha256") is not None else None
        versions[v.id] = {"proposal": v.proposal_id, "doc_sha256": digest}
    _diff("policy version", versions, st["versions"], problems)
    scenarios = {r.name: r.saved_by for r in session.execute(select(SavedScenario)).scalars()}
    for name in sorted(set(scenarios) | set(st["scenarios"])):
        if scenarios.get(name) != st["scenarios"].get(name):
            problems.append(f"scenario {name}: the table and the audit trail disagree")
    kinds: dict[str, int] = {}
    for site in session.execute(select(Site)).scalars():
        kinds[site.kind] = kinds.get(site.kind, 0) + 1
    want = st["sites"]
    have = {"total": sum(kinds.values())} if want and "total" in want else kinds
    if want is None:
        want = {}
    if {k: v for k, v in have.items() if v} != {k: v for k, v in want.items() if v}:
        problems.append(f"sites: the table holds {have}, the audit trail says {want}")
    return problems


def verify_db(session: Session) -> dict:
    """:func:`verify_entries` on the database's chain, then the replay compared with the
    state tables; the result adds ``state_problems`` (a list, empty when all agree)."""
    entries = list(db_entries(session))
    result = verify_entries(entries)
    result["state_problems"] = []
    if result["ok"]:
        try:
            rebuilt = replay(entries)
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            problems = [f"an audit entry cannot be replayed ({type(exc).__name__}: {exc})"]
        else:
            problems = state_problems(session, rebuilt)
        if problems:
            result.update(
                ok=False,
                why=f"the state tables do not match the audit trail: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                state_problems=problems,
            )
    result["head"] = (
        {"seq": entries[-1]["seq"], "hash": entries[-1]["hash"]}
        if entries and result["first_broken"] is None
        else None
    )
    return result
