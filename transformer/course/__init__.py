"""Course tooling, kept apart from the concept modules: the chapter table (`syllabus`), the
walkthrough runner (`run`: `python -m transformer.course NN`, which also writes each code block's
output into the chapter), learner workspaces
(`exercises`: `transformer exercises new DIR`) and the `--impl` pytest plugin (`pytest_plugin`,
installed as `transformer_impl`).
"""

from transformer.course.run import (
    FIGURES_ENV,
    FULL_RUN_ONLY_MARK,
    OUTPUT_MARK,
    QUICK_ENV,
    Output,
    chapters,
    check_outputs,
    code_blocks,
    committed_outputs,
    figures_dir,
    main,
    mask_numbers,
    output_difference,
    quick_mode,
    run_chapter,
    save_figure,
    scale,
    to_notebook,
    update_outputs,
    walkthrough_dir,
    write_outputs,
)
from transformer.plotting.save import save_figure_to

__all__ = [
    "FIGURES_ENV",
    "FULL_RUN_ONLY_MARK",
    "OUTPUT_MARK",
    "QUICK_ENV",
    "Output",
    "chapters",
    "check_outputs",
    "code_blocks",
    "committed_outputs",
    "figures_dir",
    "main",
    "mask_numbers",
    "output_difference",
    "quick_mode",
    "run_chapter",
    "save_figure",
    "save_figure_to",
    "scale",
    "to_notebook",
    "update_outputs",
    "walkthrough_dir",
    "write_outputs",
]
