"""The scenario reference and JSON Schema, generated from the scenario models themselves.

:func:`scenario_reference` writes ``docs/scenarios-reference.md``: every table and
key of a scenario file (:class:`skymesh.sim.scenario.Scenario`, and the
``[policy]`` table, :class:`skymesh.policy.rules.PolicyModel`) with its type, unit,
default, allowed values and an example (from a built-in scenario that sets it,
else the default), then the gateway, PoP, ISL and terminal file formats, from
their modules' own docstrings. A test regenerates it and compares, so the page
cannot drift from the code. :func:`scenario_schema` is the JSON Schema of a
scenario file (``skymesh scenarios --schema``), for TOML editors that validate
against one.

Regenerate with ``python -m skymesh.sim.reference > docs/scenarios-reference.md``.
"""

from __future__ import annotations

import inspect
import json
import tomllib
import types
import typing

import annotated_types
import pydantic
from pydantic_core import PydanticUndefined

UNITS = {
    "_s": "s",
    "_km": "km",
    "_deg": "deg",
    "_mbps": "Mbit/s",
    "_gbps": "Gbit/s",
    "_mmh": "mm/h",
    "_usd": "USD",
}
"""Units read from a key's suffix (the project's naming rule: units in every name)."""


def _unit(key: str) -> str:
    for suffix, unit in UNITS.items():
        if key.endswith(suffix):
            return unit
    return ""


def _type_name(annotation) -> str:
    """A short, TOML-flavoured name of a field's type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return " or ".join(_type_name(a) for a in inner)
    if origin is typing.Literal:
        return "string" if all(isinstance(a, str) for a in args) else "value"
    if origin in (list, tuple):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return f"array of {len(args)} numbers"
        return f"array of {_type_name(args[0])}" if args else "array"
    if origin is dict:
        return f"table of {_type_name(args[1])}" if len(args) == 2 else "table"
    if isinstance(annotation, type):
        if issubclass(annotation, pydantic.BaseModel):
            return "table"
        return {
            str: "string",
            int: "integer",
            float: "number",
            bool: "boolean",
            dict: "table",
            object: 'time or "epoch"',
        }.get(annotation, "time" if annotation.__name__ == "datetime" else annotation.__name__)
    return str(annotation)


def _allowed(info) -> str:
    """Allowed values: a Literal's choices, a field's bounds, ISO codes, times."""
    parts = []
    annotation = info.annotation
    literal = _find_literal(annotation)
    if literal:
        parts.append(", ".join(f"`{a}`" for a in literal))
    bounds = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    for m in info.metadata:
        for attr, sign in bounds.items():
            value = getattr(m, attr, None)
            if value is not None:
                parts.append(f"{sign} {value:,}" if isinstance(value, int) else f"{sign} {value:g}")
        if isinstance(m, annotated_types.MinLen):
            one = _strip_optional(annotation) is str
            parts.append("not empty" if one else f"at least {m.min_length} item(s)")
    text = repr(annotation)
    if "_iso2" in text:
        parts.append("ISO 3166-1 alpha-2 code")
    if "_time" in text:
        parts.append("TOML date-time or ISO 8601 string (UTC)")
    return "; ".join(parts)


def _cell(text) -> str:
    """Text for a Markdown table cell: one line, ``|`` escaped."""
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _find_literal(annotation) -> tuple:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return typing.get_args(annotation)
    for arg in typing.get_args(annotation):
        found = _find_literal(arg)
        if found:
            return found
    return ()


def _default(info) -> str:
    if info.is_required():
        return "required"
    value = info.default
    if value is PydanticUndefined:
        value = info.default_factory() if info.default_factory else None
    if value is None:
        return "not set"
    if isinstance(value, pydantic.BaseModel):
        return "the table's defaults"
    if isinstance(value, (list, dict)) and not value:
        return "empty"
    return f"`{json.dumps(value) if not isinstance(value, float) else f'{value:g}'}`"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
        )
    return json.dumps(str(value))


def _builtin_examples() -> dict[tuple, object]:
    """(table path, key) -> the first value a built-in scenario gives it (built-ins by name)."""
    from skymesh.sim.scenario import builtin_names, builtin_text

    found: dict[tuple, object] = {}

    def walk(path: tuple, node):
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, dict) and k != "pop_overrides" and path + (k,) != ("cost",):
                    walk(path + (k,), v)
                elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                    for item in v:
                        walk(path + (k,), item)
                else:
                    found.setdefault((path, k), v)

    for name in builtin_names():
        walk((), tomllib.loads(builtin_text(name)))
    return found


def _doc(model) -> str:
    doc = inspect.getdoc(model) or ""
    if doc.startswith(("Usage docs", "!!! abstract")) or model.__doc__ is None:
        return ""
    return " ".join(doc.split("\n\n")[0].split())


def _tables(model, path: tuple, array: bool, out: list) -> None:
    """(path, model, is an array of tables) for ``model`` and every table inside it."""
    out.append((path, model, array))
    for key, info in model.model_fields.items():
        name = info.alias or key
        annotation = info.annotation
        inner = [a for a in _flatten(annotation) if _is_model(a)]
        if inner:
            many = typing.get_origin(_strip_optional(annotation)) is list
            _tables(inner[0], path + (name,), many, out)


def _flatten(annotation) -> list:
    out = [annotation]
    for arg in typing.get_args(annotation):
        out += _flatten(arg)
    return out


def _strip_optional(annotation):
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return inner[0] if len(inner) == 1 else annotation
    return annotation


def _is_model(a) -> bool:
    return isinstance(a, type) and issubclass(a, pydantic.BaseModel)


FILE_FORMATS = (
    ("Gateway files (`gateways_file`, `--gateways`)", "skymesh.ground.gateways", None),
    ("PoP files (`pops_file`, `--pops`)", "skymesh.ground.pops", None),
    ("ISL files (`[constellation] isls`)", "skymesh.links.isl_file", None),
    (
        "Terminal city lists (`[[terminals]] file`)",
        "skymesh.ground.places",
        "load_hypatia_cities",
    ),
    ("The default gateway + PoP list", "skymesh.ground.sites", None),
)


def _format_doc(module_name: str, function: str | None) -> str:
    """A module's (or function's) docstring as Markdown: reST literal blocks (``::`` then an
    indented block) become fenced blocks; ``code`` and :role:`name` become `code`."""
    import importlib
    import re

    module = importlib.import_module(module_name)
    obj = getattr(module, function) if function else module
    doc = inspect.getdoc(obj) or ""
    out: list[str] = []
    in_block = False
    for line in doc.splitlines():
        if in_block and line.strip() and not line.startswith("    "):
            while out and not out[-1].strip():
                out.pop()
            out += ["```", ""]
            in_block = False
        if in_block:
            if line.strip() or len(out) and out[-1] != "```text":
                out.append(line[4:])
            continue
        text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", line).replace("``", "`")
        if text.rstrip().endswith("::"):
            text = text.rstrip()[:-2].rstrip()
            out += [text + ":" if text and not text.endswith(":") else text, "", "```text"]
            in_block = True
            continue
        out.append(text)
    if in_block:
        while out and not out[-1].strip():
            out.pop()
        out.append("```")
    return "\n".join(out).strip()


def scenario_reference() -> str:
    """The Markdown reference of scenario files (``docs/scenarios-reference.md``)."""
    from skymesh.policy.rules import PolicyModel
    from skymesh.sim.scenario import Scenario, builtin_names

    examples = _builtin_examples()
    tables: list = []
    _tables(Scenario, (), False, tables)
    policy_tables: list = []
    _tables(PolicyModel, ("policy",), False, policy_tables)
    at = tables.index(next(t for t in tables if t[0] == ("failures",)))
    tables[at:at] = policy_tables

    lines = [
        "# Scenario files: reference",
        "",
        "<!-- Generated from the scenario models (skymesh/sim/scenario.py, "
        "skymesh/policy/rules.py) by `python -m skymesh.sim.reference`; "
        "tests/sim/test_reference.py fails when it is out of date. Do not edit by hand. -->",
        "",
        "A scenario is one TOML file describing a whole study. It is validated before "
        "anything runs: unknown keys, wrong types and impossible values are reported all "
        "at once, each with its file, line and key (up to 20).",
        "",
        "- The built-in scenarios live in the package, in `skymesh/scenarios/` "
        f"({', '.join(f'`{n}`' for n in builtin_names())}). "
        "`skymesh scenarios` lists them; `skymesh scenarios --show NAME` prints one "
        "to copy and edit: `skymesh scenarios --show iran-2022 > mine.toml`.",
        "- `skymesh scenarios --schema` prints the JSON Schema of a scenario file, for "
        "editors that validate TOML against one (for example Taplo / Even Better TOML: "
        "`#:schema ./scenario.schema.json` as the file's first line).",
        "- Paths in a scenario (`file`, `gateways_file`, `pops_file`, `isls`) are relative "
        "to the scenario file's folder.",
        "- Units are in the key names: `_s` seconds, `_km` kilometres, `_deg` degrees, "
        "`_mbps` Mbit/s, `_gbps` Gbit/s, `_mmh` mm/h, `_usd` US dollars.",
        "- Times are TOML date-times (`2022-09-24T12:00:00Z`) or ISO 8601 strings, in UTC.",
        "",
    ]
    for path, model, array in tables:
        header = ".".join(path)
        if not path:
            title, table = "Top level", "(the file's top level, before any table)"
        else:
            title = f"`[[{header}]]`" if array else f"`[{header}]`"
            table = "an array of tables: repeat the header once per item" if array else "a table"
        lines += [f"## {title}", "", f"*{table}*" + (f". {_doc(model)}" if _doc(model) else ""), ""]
        lines += [
            "| key | type | unit | default | allowed | meaning | example |",
            "|---|---|---|---|---|---|---|",
        ]
        for key, info in model.model_fields.items():
            name = info.alias or key
            if any(_is_model(a) for a in _flatten(info.annotation)):
                sub = ".".join(path + (name,))
                many = typing.get_origin(_strip_optional(info.annotation)) is list
                kind = f"`[[{sub}]]`" if many else f"`[{sub}]`"
                lines.append(
                    f"| `{name}` | {'array of tables' if many else 'table'} | | "
                    f"{_default(info)} | see {kind} | {_cell(info.description)} | |"
                )
                continue
            if path == () and name == "policy":
                lines.append(
                    "| `policy` | table | | not set (no restrictions) | see `[policy]` | |"
                )
                continue
            example = examples.get((path, name), None)
            shown = _toml_value(example) if example is not None else ""
            if len(shown) > 60:
                shown = shown[:57] + "..."
            shown = f"`{name} = {shown}`" if shown else ""
            lines.append(
                "| `{}` | {} | {} | {} | {} | {} | {} |".format(
                    name,
                    _type_name(info.annotation),
                    _unit(name),
                    _default(info),
                    _cell(_allowed(info)),
                    _cell(info.description),
                    _cell(shown),
                )
            )
        lines.append("")
    lines += ["# File formats", ""]
    for title, module, function in FILE_FORMATS:
        lines += [f"## {title}", "", _format_doc(module, function), ""]
    return "\n".join(lines).rstrip() + "\n"


def scenario_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a scenario file, ``[policy]`` included."""
    from skymesh.policy.rules import PolicyModel
    from skymesh.sim.scenario import Scenario

    schema = Scenario.model_json_schema(mode="validation", by_alias=True)
    policy = PolicyModel.model_json_schema(mode="validation", by_alias=True)
    defs = schema.setdefault("$defs", {})
    defs.update(policy.pop("$defs", {}))
    defs["PolicyModel"] = policy
    schema["properties"]["policy"] = {
        "anyOf": [{"$ref": "#/$defs/PolicyModel"}, {"type": "null"}],
        "default": None,
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "SkyMesh scenario"
    return schema


__all__ = ["scenario_reference", "scenario_schema"]

if __name__ == "__main__":  # pragma: no cover - regenerating the committed page
    print(scenario_reference(), end="")
