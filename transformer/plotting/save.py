"""Where a figure goes: saved to a file, shown in a notebook if one is running, then closed."""

import sys
from pathlib import Path


def save_figure_to(fig, path: Path) -> Path:
    """Save a matplotlib figure at `path` (its folder made if needed) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
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
