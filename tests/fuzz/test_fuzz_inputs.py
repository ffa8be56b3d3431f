"""Fuzz what every input reader is handed: special files, bytes in any encoding, deep
nesting, Unicode look-alike country codes and instants far from the element epoch.

Each case ends accepted or rejected with one clean line (exit 2 on the command line),
never a traceback, a hang or a read that fills the memory:

* special files: a FIFO (given a late writer, so a reader that waits on it fails the
  case instead of hanging), /dev/null, /dev/zero, /dev/urandom (through a link with the
  reader's own suffix), a folder, or a sparse file over the size cap, as any input a
  scenario, a flag or the API names: all refused, naming the path;
* encodings: random bytes and text in Latin-1, UTF-16 or cp1252 as a scenario, policy,
  GeoJSON region, gateways, PoPs, TLE, ISL or places file: bytes that are not UTF-8 are
  refused naming the file;
* nesting: arrays, tables and dotted keys up to 5,000 levels in TOML and JSON inputs:
  past :data:`skymesh.inputs.MAX_NESTING` always refused;
* look-alike codes: strings of letters that Unicode case folding or compatibility
  mapping turns into ASCII (``ß`` -> SS, ``ﬁ`` -> FI, ``ı`` -> I, fullwidth ``Ｉ``):
  never taken for a country code, in scenarios, policies, capacity regions or lookups;
* far epochs: ``visible`` at any instant 1900-2100 with a TLE file: refused (naming
  --force-epoch) beyond 30 days of the element epoch, answered within; histogram means
  of any floats never overflow.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

kit = sys.modules["skymesh_tests_fuzzkit"]  # tests/fuzz/fuzzkit.py, loaded by conftest

# --------------------------------------------------------------------------- the readers


def _readers():
    from skymesh.capacity.region import load_region
    from skymesh.ground.gateways import load_gateways
    from skymesh.ground.places import load_hypatia_cities
    from skymesh.ground.pops import load_pops
    from skymesh.links.isl_file import load_isl_file
    from skymesh.orbits.tle import read_tle_file
    from skymesh.policy.rules import load_policy
    from skymesh.sim.scenario import load_scenario

    return {
        "scenario": ("s.toml", load_scenario),
        "policy": ("policy.toml", load_policy),
        "region": ("region.geojson", lambda p: load_region(str(p))),
        "gateways": ("gw.csv", load_gateways),
        "gateways-toml": ("gw.toml", load_gateways),
        "pops": ("pops.toml", load_pops),
        "tle": ("fleet.tle", read_tle_file),
        "isl": ("isls.txt", lambda p: load_isl_file(p, ["A", "B", "C"])),
        "places": ("cities.txt", load_hypatia_cities),
    }


READERS = _readers()


def names_path(path):
    """A ``reject_check``: the error names ``path`` (its ``file`` or its text)."""

    def check(err):
        if getattr(err, "file", None) != str(path) and str(path) not in str(err):
            return f"the error does not name {path}"
        return None

    return check


@contextlib.contextmanager
def late_writer(path: Path, after_s: float = 3.0):
    """Open the FIFO ``path`` for writing after ``after_s`` and close it, so a reader
    blocked on it gets end-of-file instead of waiting for ever."""
    done = threading.Event()

    def writer():
        if not done.wait(after_s):
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        yield
    finally:
        done.set()
        t.join(timeout=5)


def _fresh(path: Path) -> None:
    if path.is_symlink() or path.is_file() or path.is_fifo():
        path.unlink()
    elif path.is_dir():
        path.rmdir()


# --------------------------------------------------------------------------- special files

SPECIALS = ["fifo", "/dev/null", "/dev/zero", "/dev/urandom", "folder", "oversize"]


@kit.budget(40, campaign=600)
@given(reader=st.sampled_from(sorted(READERS)), special=st.sampled_from(SPECIALS))
def test_special_files_are_refused_by_every_reader(scratch, fuzz, reader, special):
    from skymesh.inputs import DEFAULT_MAX_BYTES

    name, read = READERS[reader]
    path = scratch / "special" / name
    path.parent.mkdir(exist_ok=True)
    _fresh(path)
    if special == "fifo":
        os.mkfifo(path)
    elif special == "folder":
        path.mkdir()
    elif special == "oversize":
        with open(path, "wb") as fh:  # sparse: no disk used
            fh.truncate(DEFAULT_MAX_BYTES * 4 + 1)
    else:
        path.symlink_to(special)
    with late_writer(path) if special == "fifo" else contextlib.nullcontext():
        fuzz.check(
            "special files",
            lambda: read(path),
            invalid=True,
            why=f"{reader} given {special}",
            reject_check=names_path(path) if not special.startswith("/") else None,
        )
    _fresh(path)


CLI_SPECIALS = [
    ["visible", "0,0", "-c", "{path}.tle"],
    ["info", "-c", "starlink-shell1", "--isls", "{path}.txt"],
    ["run", "{path}.toml"],
    ["run", "iran-2022", "--policy", "{path}.toml"],
    ["capacity", "{path}.geojson"],
    ["audit", "verify", "--file", "{path}.jsonl"],
]


@kit.budget(15, campaign=300)
@given(
    template=st.sampled_from(CLI_SPECIALS),
    special=st.sampled_from(["fifo", "/dev/zero", "/dev/urandom"]),
)
def test_special_files_named_by_flags_are_one_line(scratch, fuzz, template, special):
    base = scratch / "cli-special" / "input"
    base.parent.mkdir(exist_ok=True)
    argv = [a.format(path=base) for a in template]
    path = Path(next(a for a in argv if a.startswith(str(base))))
    _fresh(path)
    if special == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(special)
    with late_writer(path) if special == "fifo" else contextlib.nullcontext():
        fuzz.cli(argv, invalid=True, parser="special files (cli)")
    _fresh(path)


# --------------------------------------------------------------------------- encodings

TEXTS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=60
)


@st.composite
def encoded_files(draw):
    """Bytes for a reader: random bytes, or text in another encoding, or valid UTF-8."""
    kind = draw(st.sampled_from(["bytes", "latin-1", "cp1252", "utf-16", "utf-8"]))
    if kind == "bytes":
        return kind, draw(st.binary(min_size=1, max_size=200))
    text = draw(TEXTS)
    if kind in ("latin-1", "cp1252"):
        text = "".join(ch for ch in text if ord(ch) < 256) + "é"  # at least one non-ASCII
    return kind, text.encode(kind, errors="replace")


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@kit.budget(60, campaign=1500)
@given(reader=st.sampled_from(sorted(READERS)), case=encoded_files())
def test_bytes_in_any_encoding_are_read_or_refused_naming_the_file(scratch, fuzz, reader, case):
    kind, data = case
    name, read = READERS[reader]
    path = scratch / "encodings" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    fuzz.check(
        "encodings",
        lambda: read(path),
        invalid=not _utf8(data.removeprefix(b"\xef\xbb\xbf")),
        why=f"{reader} holding {kind} {data[:40]!r}",
        reject_check=names_path(path),
    )


# --------------------------------------------------------------------------- nesting


@st.composite
def nested_documents(draw):
    """(reader, text, depth): a TOML or JSON input with one value nested ``depth`` deep."""
    depth = draw(st.one_of(st.integers(1, 80), st.integers(80, 5000)))
    reader = draw(st.sampled_from(["scenario", "policy", "gateways-toml", "pops", "region"]))
    if reader == "region":
        shape = draw(st.sampled_from(["list", "object"]))
        inner = (
            "[" * depth + "]" * depth if shape == "list" else '{"a": ' * depth + "1" + "}" * depth
        )
        return reader, f'{{"type": "FeatureCollection", "features": {inner}}}', depth + 1
    shape = draw(st.sampled_from(["array", "inline", "dotted"]))
    if shape == "array":
        return reader, "x = " + "[" * depth + "]" * depth + "\n", depth
    if shape == "inline":
        return reader, "x = " + "{a = " * depth + "1" + "}" * depth + "\n", depth
    return reader, "x" + ".a" * depth + " = 1\n", depth


@kit.budget(40, campaign=800)
@given(case=nested_documents())
def test_deep_nesting_is_refused_in_one_line(scratch, fuzz, case):
    from skymesh.inputs import MAX_NESTING

    reader, text, depth = case
    name, read = READERS[reader]
    path = scratch / "nesting" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    fuzz.check(
        "nesting",
        lambda: read(path),
        invalid=depth > MAX_NESTING,
        why=f"{reader} nested {depth} deep",
        reject_check=names_path(path),
    )


@kit.budget(20, campaign=400)
@given(depth=st.integers(1, 5000))
def test_deep_audit_lines_are_broken_entries(scratch, fuzz, depth):
    from skymesh.service import audit

    path = scratch / "audit.jsonl"
    path.write_text("[" * depth + "]" * depth + "\n")
    fuzz.check(
        "nesting",
        lambda: audit.verify_entries(audit.jsonl_entries(path)),
        why=f"audit export line nested {depth} deep",
        accept_check=lambda r: None if r["ok"] is False else "a bare list verified",
    )


# --------------------------------------------------------------------------- look-alike codes


def _folds_to_ascii(ch: str) -> bool:
    return any(
        f and f.isascii() and f.isalpha()
        for f in (ch.upper(), ch.casefold(), unicodedata.normalize("NFKC", ch).upper())
    )


LOOKALIKE_CHARS = sorted(
    chr(c) for c in range(0x80, 0x10000) if chr(c).isprintable() and _folds_to_ascii(chr(c))
)
assert {"ß", "ﬁ", "ı", "ſ", "Ｉ", "\u212a"} <= set(LOOKALIKE_CHARS)  # U+212A: Kelvin sign


def _folds(ch: str) -> set[str]:
    return {ch.upper(), unicodedata.normalize("NFKC", ch).upper()}


def _codes() -> list[str]:
    import pycountry

    return sorted(c.alpha_2 for c in pycountry.countries)


CODES = _codes()
LOOKS_LIKE = {
    letter: [ch for ch in LOOKALIKE_CHARS if letter in _folds(ch)]
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
}
"""Non-ASCII characters that upper-case (or NFKC-map) to one ASCII letter."""
WHOLE_CODES = [ch for ch in LOOKALIKE_CHARS if _folds(ch) & set(CODES)]
"""Single characters that fold to a whole country code: "ß" -> SS, "ﬁ" -> FI."""
assert {"ß", "ﬁ"} <= set(WHOLE_CODES)


@st.composite
def lookalike_codes(draw):
    """Strings that Unicode folding turns into a real country code (or near one), at least
    one character of them non-ASCII."""
    kind = draw(st.sampled_from(["whole", "letters", "random"]))
    if kind == "whole":
        return draw(st.sampled_from(WHOLE_CODES))
    if kind == "letters":  # a real code with one or both letters swapped for look-alikes
        code = draw(st.sampled_from([c for c in CODES if LOOKS_LIKE[c[0]] or LOOKS_LIKE[c[1]]]))
        must = draw(st.sampled_from([n for n in (0, 1) if LOOKS_LIKE[code[n]]]))
        out = []
        for n, letter in enumerate(code):
            swap = LOOKS_LIKE[letter] and (n == must or draw(st.booleans()))
            out.append(draw(st.sampled_from(LOOKS_LIKE[letter])) if swap else letter.lower())
        return "".join(out)
    ascii_letters = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    first = draw(st.sampled_from(LOOKALIKE_CHARS))
    rest = draw(st.one_of(st.just(""), ascii_letters, st.sampled_from(LOOKALIKE_CHARS)))
    return first + rest if draw(st.booleans()) else rest + first


SCENARIO = """\
name = "codes"
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 60
[[terminals]]
country = {code}
count = 5
[[gateways]]
name = "G"
lat = 40.8
lon = 29.5
country = "TR"
"""


@kit.budget(60, campaign=1500)
@given(code=lookalike_codes(), where=st.sampled_from(["scenario", "policy", "region", "lookup"]))
def test_lookalike_codes_are_never_country_codes(scratch, fuzz, code, where):
    from skymesh.capacity.region import load_region
    from skymesh.ground.places import resolve_country
    from skymesh.policy.rules import policy_from_dict
    from skymesh.sim.scenario import load_scenario

    path = scratch / "codes.toml"
    if where == "scenario":
        path.write_text(SCENARIO.format(code=json.dumps(code)), encoding="utf-8")
        call, check = (lambda: load_scenario(path)), kit.names_location(path, 8, "terminals.0")
    elif where == "policy":
        call, check = (lambda: policy_from_dict({"exit_countries": [code]})), None
    elif where == "region":
        call, check = (lambda: load_region(code)), None
    else:
        call, check = (lambda: resolve_country(code, codes_only=True)), None
    fuzz.check("look-alike codes", call, invalid=True, why=f"{where} {code!r}", reject_check=check)


# --------------------------------------------------------------------------- far epochs

ISS = (
    "ISS\n"
    "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927\n"
    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537\n"
)
ISS_EPOCH = datetime(2008, 9, 20, 12, 25, 40, tzinfo=timezone.utc)
HORIZON = timedelta(days=30)


@st.composite
def instants(draw):
    """An instant 1900-2100, or one within a few horizons of the ISS epoch."""
    if draw(st.booleans()):
        seconds = draw(st.integers(0, int(200 * 365.25 * 86400)))
        return datetime(1900, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)
    return ISS_EPOCH + timedelta(minutes=draw(st.integers(-3 * 43200, 3 * 43200)))


@kit.budget(25, campaign=500)
@given(at=instants(), force=st.booleans())
def test_far_epochs_are_refused_unless_forced(scratch, fuzz, at, force):
    path = scratch / "iss.tle"
    path.write_text(ISS)
    distance = abs(at - ISS_EPOCH)
    assume(abs(distance - HORIZON) > timedelta(minutes=2))  # the edge itself: either is fine
    far = distance > HORIZON
    argv = ["visible", "0,0", "-c", str(path), "--at", at.strftime("%Y-%m-%dT%H:%M:%SZ")]
    if force:
        argv.append("--force-epoch")
    fuzz.cli(argv, invalid=far and not force, valid=not far or force, parser="far epochs")


@kit.budget(30, campaign=600)
@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20),
    repeat=st.integers(1, 200_000),
)
def test_histogram_means_never_overflow(fuzz, values, repeat):
    """Any floats, any number of times: the mean is the exact mean of the finite values
    (to the 1e-6 unit each value is rounded to), never a wrapped-around int64."""
    from fractions import Fraction

    from skymesh.sim.stats import Histogram

    v = np.asarray(values, dtype=float)
    finite = [Fraction(x) for x in v[np.isfinite(v)].tolist()]
    times = repeat if len(v) * repeat <= 400_000 else 1

    def mean():
        h = Histogram()
        h.add(np.tile(v, times))
        return h.mean()

    def right(got):
        if not finite:
            return None if got is None else f"a mean ({got}) of nothing"
        want = float(sum(finite) / len(finite))
        scale = float(max(abs(x) for x in finite))
        if got is None or abs(got - want) > 1e-6 + 1e-12 * scale:
            return f"mean {got}, expected {want}"
        return None

    fuzz.check("statistics", mean, accept_check=right, why=f"{values!r} x{times}")


def test_found_by_the_campaign(scratch, fuzz):
    """Cases the audit of issue 20 reported, kept as fixed examples."""
    path = scratch / "iss.tle"
    path.write_text(ISS)
    argv = ["visible", "0,0", "-c", str(path), "--at", "1900-01-01T00:00:00Z"]
    assert fuzz.cli(argv, invalid=True, parser="far epochs")[0] == "rejected"
    for code in ("ß", "ﬁ", "ır"):
        assert fuzz.cli(["capacity", code], invalid=True, parser="look-alike codes")[0] == (
            "rejected"
        )
    region = scratch / "null-features.geojson"
    region.write_text('{"type": "FeatureCollection", "features": null}')
    assert fuzz.cli(["capacity", str(region)], invalid=True)[0] == "rejected"
