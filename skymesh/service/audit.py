"""The hash-chained audit log: append in the change's own transaction, verify anywhere.

Each entry's canonical form is the JSON object of its fields ``seq``, ``at``
(UTC ISO 8601), ``actor``, ``action``, ``detail`` (an object) and
``prev_hash``, with sorted keys, no spaces and UTF-8 text; its ``hash`` is
the SHA-256 of that form, and the next entry carries it as ``prev_hash``
(64 zeros before the first). Changing, removing or reordering any entry
breaks every hash from there on, so :func:`verify_entries` names the first
broken entry. The JSON Lines export holds exactly these fields, so the same
check runs offline on an export. Secrets (tokens, hashes of them) are never
part of an entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymesh.service.models import AuditEntry

GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor", "action", "detail", "prev_hash")


def canonical(entry: dict) -> bytes:
    """The bytes an entry's hash is taken over (see the module docstring)."""
    return json.dumps(
        {k: entry[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


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
