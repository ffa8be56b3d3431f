"""The two-person rule: proposals, approvals, rejections, expiry, and the policy they make.

An operator (or above) proposes a change with a reason. An approver (or
above) approves or rejects it, with a reason for a rejection. Whether a
change reduces service is computed from the effective policy before and
after it (:func:`skymesh.service.changes.reduces_service`), when it is
proposed and again, against the policy then in force, when it is approved.
A change that reduces service takes effect only when approved by an approver
*independent* of its author: not the author, and sharing no controller with
the author (:func:`controllers`: the accounts that created either of them or
changed their role through the API, and theirs, transitively), so that
no single person holding several accounts can approve their own reduction. A
change that restores service takes effect on one approval, which may be its
author's own if the author is an approver. A proposal not decided within its
lifetime (default :data:`DEFAULT_TTL_S`) expires. A change may be scheduled
(``from`` in the future): it is applied to the policy at approval, and the
policy's timeline shows it taking effect then.

Every function here runs inside :func:`skymesh.service.db.write`, so its
checks and writes are one serialised transaction with the audit entry.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymesh.service import audit
from skymesh.service.auth import ServiceError, now_utc, require
from skymesh.service.changes import (
    EMPTY_POLICY,
    apply_change,
    change_json,
    iso,
    parse_change,
    reduces_service,
)
from skymesh.service.models import PolicyVersion, Proposal, Provenance, User

DEFAULT_TTL_S = 72 * 3600
MAX_TTL_S = 30 * 86400


def current_policy(session: Session) -> tuple[int | None, dict]:
    """``(version id, document)`` of the policy in force (the empty policy before any)."""
    row = session.execute(select(PolicyVersion).order_by(PolicyVersion.id.desc()).limit(1)).scalar()
    return (None, dict(EMPTY_POLICY)) if row is None else (row.id, json.loads(row.doc))


def proposal_dict(p: Proposal, names: dict[int, str] | None = None) -> dict:
    names = names or {}
    return {
        "id": p.id,
        "author": names.get(p.author_id, p.author_id),
        "change": json.loads(p.change),
        "reason": p.reason,
        "reduces_service": p.reduces_service,
        "status": p.status,
        "created_at": _iso(p.created_at),
        "expires_at": _iso(p.expires_at),
        "decided_by": names.get(p.decided_by, p.decided_by) if p.decided_by else None,
        "decided_at": _iso(p.decided_at) if p.decided_at else None,
        "decision_reason": p.decision_reason,
    }


def _iso(t: datetime) -> str:
    return iso(t.replace(tzinfo=timezone.utc))


def propose(
    session: Session, user: User, change_data, reason: str, ttl_s: float = DEFAULT_TTL_S
) -> Proposal:
    require(user, "operator")
    if not isinstance(reason, str) or not reason.strip():
        raise ServiceError(422, "reason: a proposal needs a reason", "reason")
    if not (60 <= ttl_s <= MAX_TTL_S):
        raise ServiceError(422, f"expires_in_s: must be between 60 and {MAX_TTL_S}", "expires_in_s")
    change = parse_change(change_data)
    # the change must make a valid policy now (it is applied again, to the policy then
    # in force, at approval)
    _, doc = current_policy(session)
    after = apply_change(doc, change, datetime.now(timezone.utc))
    now = now_utc()
    p = Proposal(
        author_id=user.id,
        change=json.dumps(change_json(change), sort_keys=True),
        reason=reason.strip(),
        reduces_service=reduces_service(doc, after),
        status="pending",
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )
    session.add(p)
    session.flush()
    audit.append(
        session,
        user.name,
        "propose",
        {
            "proposal": p.id,
            "change": json.loads(p.change),
            "reason": p.reason,
            "reduces_service": p.reduces_service,
        },
    )
    return p


def _pending(session: Session, pid: int) -> Proposal:
    p = session.get(Proposal, pid)
    if p is None:
        raise ServiceError(404, f"proposal {pid}: no such proposal", "id")
    if p.status == "pending" and p.expires_at <= now_utc():
        p.status = "expired"
        audit.append(session, "service", "expire", {"proposal": p.id})
    if p.status != "pending":
        raise ServiceError(409, f"proposal {pid} is {p.status}, not pending", "id")
    return p


def controllers(session: Session, user_id: int) -> set[int]:
    """The accounts that created ``user_id`` or changed its role through the API, and
    theirs, transitively (the database holder's local actions are not counted)."""
    edges: dict[int, set[int]] = {}
    for uid, by in session.execute(select(Provenance.user_id, Provenance.by_user_id)):
        edges.setdefault(uid, set()).add(by)
    seen: set[int] = set()
    todo = list(edges.get(user_id, ()))
    while todo:
        k = todo.pop()
        if k not in seen:
            seen.add(k)
            todo.extend(edges.get(k, ()))
    seen.discard(user_id)
    return seen


def independent(session: Session, author_id: int, approver_id: int) -> str | None:
    """``None`` when the two accounts are independent, else why they are not."""
    if author_id == approver_id:
        return "its author cannot approve it"
    a = controllers(session, author_id) | {author_id}
    b = controllers(session, approver_id) | {approver_id}
    common = a & b
    if not common:
        return None
    names = {u.id: u.name for u in session.scalars(select(User).where(User.id.in_(common)))}
    who = ", ".join(sorted(names.get(k, str(k)) for k in common))
    return (
        f"the approver and the author are not independent (both controlled by: {who}; "
        "an account created or re-roled through the API is controlled by whoever did it)"
    )


def approve(session: Session, user: User, pid: int, reason: str | None = None) -> Proposal:
    require(user, "approver")
    p = _pending(session, pid)
    change = parse_change(json.loads(p.change))
    _, doc = current_policy(session)
    new = apply_change(doc, change, datetime.now(timezone.utc))
    reduces = reduces_service(doc, new)  # against the policy in force now
    if reduces or p.reduces_service:
        why = independent(session, p.author_id, user.id)
        if why is not None:
            raise ServiceError(
                403,
                f"proposal {pid} reduces service: a second approver, independent of its "
                f"author, must approve it (two-person rule): {why}",
                "id",
            )
    p.reduces_service = reduces
    p.status, p.decided_by, p.decided_at = "approved", user.id, now_utc()
    p.decision_reason = reason.strip() if isinstance(reason, str) and reason.strip() else None
    text = json.dumps(new, sort_keys=True)
    version = PolicyVersion(doc=text, created_at=now_utc(), proposal_id=p.id)
    session.add(version)
    session.flush()
    audit.append(
        session,
        user.name,
        "approve",
        {"proposal": p.id, "reason": p.decision_reason, "reduces_service": reduces},
    )
    audit.append(
        session,
        user.name,
        "policy.change",
        {
            "proposal": p.id,
            "version": version.id,
            "change": json.loads(p.change),
            "doc_sha256": audit.sha256_text(text),
        },
    )
    return p


def reject(session: Session, user: User, pid: int, reason: str) -> Proposal:
    require(user, "approver")
    if not isinstance(reason, str) or not reason.strip():
        raise ServiceError(422, "reason: a rejection needs a reason", "reason")
    p = _pending(session, pid)
    p.status, p.decided_by, p.decided_at = "rejected", user.id, now_utc()
    p.decision_reason = reason.strip()
    audit.append(session, user.name, "reject", {"proposal": p.id, "reason": p.decision_reason})
    return p


def expire_due(session: Session) -> int:
    """Mark every pending proposal past its lifetime expired (audited); the count."""
    due = (
        session.execute(
            select(Proposal).where(Proposal.status == "pending", Proposal.expires_at <= now_utc())
        )
        .scalars()
        .all()
    )
    for p in due:
        p.status = "expired"
        audit.append(session, "service", "expire", {"proposal": p.id})
    return len(due)
