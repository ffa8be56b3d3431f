"""Signed checkpoints of the audit chain's head, kept outside the database.

The hash chain shows an edit, and the replay (:func:`skymesh.service.audit.verify_db`)
shows state that disagrees with it, but whoever holds the database can rewrite the
whole chain consistently from some entry on. A checkpoint is a small JSON file
naming the chain's head, ``seq`` and ``hash``, signed with an Ed25519 key (the
``cryptography`` package) that never enters the database. Whoever keeps a
checkpoint (and the public key) can later show the chain still passes through
that entry: a chain cut short before it, or rewritten at or before it, fails.

File layout (one JSON object)::

    {"format": "skymesh-audit-checkpoint/1", "seq": 42, "hash": "<64 hex>",
     "at": "<the entry's time>", "made_at": "<UTC ISO time>",
     "public_key": "<base64 raw 32-byte Ed25519 key>", "signature": "<base64>"}

The signature is over the canonical JSON (sorted keys, no spaces) of every
field but ``signature``. Keys are PEM files: the private key PKCS#8 (written
with mode 0600), the public key SubjectPublicKeyInfo.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from skymesh.errors import InputError

FORMAT = "skymesh-audit-checkpoint/1"
MAX_FILE_BYTES = 64 * 1024


def _crypto():
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise InputError(
            "checkpoints need the cryptography package: pip install 'skymesh[service]'"
        ) from None
    return serialization, ed25519


def keygen(key_path: Path) -> Path:
    """Write a new Ed25519 private key to ``key_path`` (0600) and its public key next to
    it (``<key_path>.pub``); refuses to replace either. Returns the public key's path."""
    serialization, ed25519 = _crypto()
    pub_path = Path(str(key_path) + ".pub")
    for p in (key_path, pub_path):
        if os.path.lexists(p):
            raise InputError(f"{p}: file exists; SkyMesh does not replace a key", field="--key")
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise InputError(f"cannot write the key ({exc.strerror})", file=key_path) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    try:
        fd = os.open(pub_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise InputError(f"cannot write the public key ({exc.strerror})", file=pub_path) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(public)
    return pub_path


def _read_small(path: Path, what: str) -> bytes:
    if not path.is_file():
        raise InputError(f"no such {what} file (or not a regular file)", file=path)
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"too large for a {what} file", file=path)
    return data


def load_private(path: Path):
    serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_private_key(_read_small(path, "key"), password=None)
    except (ValueError, TypeError):
        raise InputError("not an unencrypted PEM private key", file=path) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InputError("not an Ed25519 key (make one with `skymesh audit keygen`)", file=path)
    return key


def load_public(path: Path):
    serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_public_key(_read_small(path, "public key"))
    except (ValueError, TypeError):
        raise InputError("not a PEM public key", file=path) from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise InputError("not an Ed25519 public key", file=path)
    return key


def _raw(public_key) -> bytes:
    serialization, _ = _crypto()
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _signed_bytes(cp: dict) -> bytes:
    body = {k: v for k, v in cp.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def make(head: dict, key) -> dict:
    """A signed checkpoint of ``head`` (an entry dict with ``seq``, ``hash``, ``at``)."""
    cp = {
        "format": FORMAT,
        "seq": int(head["seq"]),
        "hash": str(head["hash"]),
        "at": str(head["at"]),
        "made_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "public_key": base64.b64encode(_raw(key.public_key())).decode(),
    }
    cp["signature"] = base64.b64encode(key.sign(_signed_bytes(cp))).decode()
    return cp


def load(path: Path) -> dict:
    """A checkpoint file, its layout checked (not yet its signature)."""
    try:
        cp = json.loads(_read_small(path, "checkpoint").decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InputError("not a SkyMesh audit checkpoint (not JSON)", file=path) from None
    want = {"format": str, "seq": int, "hash": str, "at": str, "public_key": str, "signature": str}
    if not isinstance(cp, dict) or cp.get("format") != FORMAT:
        raise InputError(f"not a SkyMesh audit checkpoint (format {FORMAT})", file=path)
    for key, kind in want.items():
        if not isinstance(cp.get(key), kind) or isinstance(cp.get(key), bool):
            raise InputError(f"the checkpoint's {key!r} is missing or wrong", file=path)
    return cp


def check_signature(cp: dict, public_key=None) -> str | None:
    """``None`` when ``cp`` is signed by ``public_key`` (default: the key it names),
    else why not."""
    from cryptography.exceptions import InvalidSignature

    _, ed25519 = _crypto()
    try:
        named = base64.b64decode(cp["public_key"], validate=True)
        signature = base64.b64decode(cp["signature"], validate=True)
        embedded = ed25519.Ed25519PublicKey.from_public_bytes(named)
    except ValueError:
        return "its public key or signature is not valid base64 / Ed25519"
    if public_key is not None and _raw(public_key) != named:
        return "it was signed with another key than --pubkey"
    try:
        embedded.verify(signature, _signed_bytes(cp))
    except InvalidSignature:
        return "its signature does not match its content (edited)"
    return None


def check_chain(cp: dict, entries) -> str | None:
    """``None`` when the chain ``entries`` passes through the checkpoint's entry."""
    for e in entries:
        if isinstance(e, dict) and e.get("seq") == cp["seq"]:
            if e.get("hash") != cp["hash"]:
                return (
                    f"entry {cp['seq']} differs from the checkpoint: the chain was rewritten "
                    f"at or before entry {cp['seq']}"
                )
            return None
    return f"the chain has no entry {cp['seq']}: entries were removed since the checkpoint"
