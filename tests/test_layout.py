"""The package's layout keeps its promises: who may import whom, and what installs."""

import ast
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "transformer"

# The Transformer's own concept modules: the recurrent models must not need them.
TRANSFORMER_MODULES = {"attention", "embedding", "positional_encoding", "feed_forward", "sublayer", "encoder",
                       "decoder", "model"}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (absolute names), at any depth of the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_recurrent_models_import_no_transformer_module():
    """`transformer/rnn/` stands beside the Transformer, not on top of it."""
    for path in modules(PACKAGE / "rnn"):
        wrong = sorted(n for n in imports_of(path) if n.split(".")[:2][-1] in TRANSFORMER_MODULES
                       and n.startswith("transformer."))
        assert not wrong, f"{path.relative_to(REPO)} imports {wrong}"


def test_model_code_never_imports_plotting_data_or_progress_libraries():
    """Concept modules stay readable in one sitting and free of side concerns."""
    side = ("matplotlib", "datasets", "tqdm", "transformer.plotting")
    concept = [p for p in modules(PACKAGE) if p.parent == PACKAGE or p.parent.name == "rnn"]
    allowed = {"cli.py", "train.py", "__init__.py"}  # train.py shows a progress bar, lazily
    for path in concept:
        if path.name in allowed:
            continue
        wrong = sorted(n for n in imports_of(path) if n.startswith(side))
        assert not wrong, f"{path.relative_to(REPO)} imports {wrong}"


def test_plotting_modules_do_not_choose_a_matplotlib_backend():
    """Importing a plotting module changes nothing global: the caller (or MPLBACKEND) picks the backend."""
    for path in modules(PACKAGE / "plotting"):
        text = path.read_text(encoding="utf-8")
        assert "matplotlib.use(" not in text, f"{path.relative_to(REPO)} calls matplotlib.use at import"


def test_pyproject_lists_every_package_folder():
    """The package list in pyproject.toml is written by hand: a folder missing there would not install."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    mapped = config["tool"]["setuptools"]["package-dir"]
    found = {".".join(p.parent.relative_to(REPO).parts) for p in PACKAGE.rglob("__init__.py")
             if "__pycache__" not in p.parts}
    found = {name for name in found if not any(name == ".".join(Path(d).parts) for d in mapped.values())}
    assert found | set(mapped) == listed, f"pyproject lists {sorted(listed)}, the tree has {sorted(found | set(mapped))}"


def test_the_pytest_plugin_loads_without_importing_the_package():
    """`transformer_impl` is loaded by pytest before the workspace of `--impl` is on the path and
    before jaxtyping's import hook: it must not import `transformer` at module level."""
    plugin = PACKAGE / "course" / "pytest_plugin" / "__init__.py"
    top_level = set()
    for node in ast.parse(plugin.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            top_level.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            top_level.add(node.module)
    assert not {n for n in top_level if n.split(".")[0] == "transformer"}, f"the plugin imports {top_level}"
