"""Course tooling, kept apart from the concept modules: the chapter table (`syllabus`), the
walkthrough runner (`run`: `python -m transformer.course NN`), learner workspaces
(`exercises`: `transformer exercises new DIR`) and the `--impl` pytest plugin (`pytest_plugin`,
installed as `transformer_impl`).
"""

from transformer.course.run import (
    FIGURES_ENV,
    QUICK_ENV,
    chapters,
    code_blocks,
    figures_dir,
    main,
    quick_mode,
    run_chapter,
    save_figure,
    scale,
    to_notebook,
    walkthrough_dir,
)
from transformer.plotting.save import save_figure_to

__all__ = [
    "FIGURES_ENV",
    "QUICK_ENV",
    "chapters",
    "code_blocks",
    "figures_dir",
    "main",
    "quick_mode",
    "run_chapter",
    "save_figure",
    "save_figure_to",
    "scale",
    "to_notebook",
    "walkthrough_dir",
]
