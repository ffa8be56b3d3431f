"""A notebook of the examples runs in Jupyter's kernel, and SkyMesh's figures show inline
with no ``%matplotlib`` line (nbclient executes it as Jupyter would)."""

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebook_tour.ipynb"


def test_the_notebook_runs_and_its_figure_displays_inline():
    nbformat = pytest.importorskip(
        "nbformat", reason="nbformat is not installed: pip install -e '.[test]'"
    )
    nbclient = pytest.importorskip(
        "nbclient", reason="nbclient is not installed: pip install -e '.[test]'"
    )
    pytest.importorskip("ipykernel", reason="ipykernel is not installed: pip install -e '.[test]'")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any("%matplotlib" in c.source for c in code), "the point is not to need it"
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    plot_cell = next(c for c in nb.cells if c.cell_type == "code" and "plot_rtt" in c.source)
    shown = [o for o in plot_cell.outputs if o.output_type == "execute_result"]
    assert shown and "image/png" in shown[0].data, plot_cell.outputs
    png = shown[0].data["image/png"]
    assert len(png) > 10_000  # base64 of a real picture, not a placeholder
