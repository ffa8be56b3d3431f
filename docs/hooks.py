"""MkDocs hook: pages generated at build time (nothing generated is committed).

- ``examples/NAME.md`` from each percent-format script ``examples/NAME.py``: markdown
  cells as text, code cells as Python blocks, then the script's printed output and its
  figures when ``make examples`` has written them under ``build/examples/NAME/``.
- ``validation.md`` from ``build/docs/validation.md`` (``skymesh validate --quick --md``,
  run by ``make docs``), or a page saying how to produce it.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BUILT = ROOT / "build" / "examples"
VALIDATION = ROOT / "build" / "docs" / "validation.md"


def _cells(text: str) -> list[tuple[str, str]]:
    """(kind, body) cells of a percent-format script: kind is "markdown" or "code"."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            body = "\n".join(ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines)
        else:
            body = "\n".join(lines)
        if body.strip():
            out.append((kind, body.strip("\n")))
    return out


def example_page(script: Path) -> tuple[str, list[Path]]:
    """The Markdown page of one example and the figures it embeds."""
    name = script.stem
    parts = []
    for kind, body in _cells(script.read_text(encoding="utf-8")):
        parts.append(body if kind == "markdown" else f"```python\n{body}\n```")
    built = BUILT / name
    figures = sorted(built.glob("*.png")) if built.is_dir() else []
    parts.append(f"Run it: `python examples/{name}.py --out DIR` (all: `make examples`).")
    output = built / "output.txt"
    if output.is_file():
        parts.append(
            "## Output\n\n```text\n" + output.read_text(encoding="utf-8").strip() + "\n```"
        )
    if figures:
        parts.append(
            "## Figures\n\n" + "\n\n".join(f"![{f.stem}]({name}/{f.name})" for f in figures)
        )
    else:
        parts.append(
            "!!! note\n    Figures appear here after `make examples` "
            "(they are written under `build/examples/`)."
        )
    return "\n\n".join(parts) + "\n", figures


def on_files(files, config):
    for script in sorted(EXAMPLES.glob("*.py")):
        page, figures = example_page(script)
        files.append(File.generated(config, f"examples/{script.stem}.md", content=page))
        for fig in figures:
            files.append(
                File.generated(config, f"examples/{script.stem}/{fig.name}", abs_src_path=str(fig))
            )
    if VALIDATION.is_file():
        text = VALIDATION.read_text(encoding="utf-8")
        text += (
            "\n\nProduced by `skymesh validate --quick --md build/docs/validation.md` "
            "when the site was built; `skymesh validate` runs every case.\n"
        )
    else:
        text = (
            "# Validation\n\nThe table of published figures against SkyMesh's comes from "
            "`skymesh validate`: run\n\n```sh\nskymesh validate --quick --md "
            "build/docs/validation.md\n```\n\n(or `make docs`, which does it) and build "
            "the site again to see it here.\n"
        )
    files.append(File.generated(config, "validation.md", content=text))
    return files
