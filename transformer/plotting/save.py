"""Where a figure goes: saved to a file, shown in a notebook if one is running, then closed."""

import sys
from pathlib import Path


def save_figure_to(fig, path: Path, dpi: int = 110, tight: bool = True) -> Path:
    """Save a matplotlib figure at `path` (its folder made if needed) and close it. `tight` crops
    the margins to what is drawn, which costs one more drawing of the figure."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight" if tight else None)
    _show_in_notebook(fig)
    plt.close(fig)
    return path


def _show_in_notebook(fig) -> None:
    """In a Jupyter notebook, show the figure in the cell's output before it is closed."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or "IPKernelApp" not in shell.config:
        return
    from IPython.display import display

    display(fig)
