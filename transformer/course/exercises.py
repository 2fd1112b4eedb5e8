"""Exercises: a copy of the package in which the functions a chapter teaches are left to write.

Which functions are exercises is marked in the source itself, by a comment block right above
the `def` (or above its decorators) that starts with `# exercise(<chapter marker>):`. The text
after the marker is the *task*: what the function must do and which equation. Each later line
that starts with `hint:` opens the next, more detailed hint; the last one is the full recipe.
Other lines continue the text above them:

    # exercise(attention): equation (1), softmax(Q K^T / sqrt(d_k)) V; return the output and
    #   the weights, masked keys getting weight exactly 0.
    #   hint: scores are query @ key^T divided by sqrt(d_head); masked_softmax (chapter 04) ...
    #   hint: scores = query @ key^T / sqrt(d_head); weights = masked_softmax(scores, mask); ...
    def scaled_dot_product_attention(query, key, value, mask=None, dropout_p=0.0):

A marker without `hint:` lines has one level: its text is the task and the recipe at once.

`new` copies the package into a workspace and replaces each marked body by

    raise NotImplementedError("exercise [attention] scaled_dot_product_attention: <the task> ...")

keeping the decorators, the signature and the docstring. The stub states the task only, with the
chapter to read and the command that checks it; `hint DIR NAME` gives the next hint each time it
is asked, down to the recipe. The rewriting uses the line numbers of the `ast` module; nothing but
the marked bodies changes, and no compiled file is copied, so the reference solution is not in the
workspace. The spec then runs against the copy:

    transformer exercises new ws --chapter attention
    pytest --impl=ws -m attention
    transformer exercises hint ws scaled_dot_product_attention

This module finds the marked functions and rewrites their bodies (`stub_source`,
`restore_source`); `transformer.course.workspaces` makes the workspaces, follows what a learner
has written (`status`), gives the hints and restores bodies, and is the `transformer exercises`
command.
"""

import ast
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from transformer.course.syllabus import MARKERS, chapter as chapter_of

MARK = "# exercise("
HINT = "hint:"  # opens the next hint level inside a marker's comment block
STUB_PREFIX = "exercise ["
PACKAGE = "transformer"


@dataclass(frozen=True)
class Exercise:
    """One function body to write: where it is, which chapter teaches it, and its hints."""

    path: str  # relative to the package folder, e.g. "rnn/cells.py"
    name: str  # qualified name, e.g. "MultiHeadAttention.attend"
    chapter: str  # the chapter's pytest marker, e.g. "attention"
    hint: str  # the last hint level: the full recipe
    line: int  # 1-based line of the `def`
    levels: tuple[str, ...] = ()  # every hint level, the task first and the recipe (`hint`) last

    def __post_init__(self):
        if not self.levels:
            object.__setattr__(self, "levels", (self.hint,))
        elif self.levels[-1] != self.hint:
            raise ValueError(f"Exercise {self.name}: expected hint to be the last level, got {self.hint!r}")

    @property
    def task(self) -> str:
        """The first level: what the function must do and which equation (what the stub says)."""
        return self.levels[0]

    @property
    def key(self) -> str:
        """`path:name`, unique in the package (names alone may repeat across modules)."""
        return f"{self.path}:{self.name}"

    @property
    def number(self) -> int:
        """The chapter number (06 for attention)."""
        return chapter_of(self.chapter).number

    def message(self, workspace: str = "DIR") -> str:
        """What the stub raises: the task, the chapter to read, the command that checks it (and
        the one that gives the next hint, when there is one)."""
        more = f"; next hint: transformer exercises hint {workspace} {self.name}" if len(self.levels) > 1 else ""
        return (
            f"{STUB_PREFIX}{self.chapter}] {self.name}: {self.task} "
            f"(chapter {self.number:02d}, {chapter_file(self.chapter)}; "
            f"check with: pytest --impl={workspace} -m {self.chapter}{more})"
        )


def chapter_file(chapter: str) -> str:
    """`walkthrough/NN_name.md` of a chapter marker."""
    return chapter_of(chapter).file


# ---------------------------------------------------------------------------------------------
# Finding the marked functions


def _functions(tree: ast.Module) -> Iterable[tuple[str, ast.FunctionDef]]:
    """Every function and method of a module with its qualified name (nested defs left out)."""

    def walk(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield prefix + node.name, node
            elif isinstance(node, ast.ClassDef):
                yield from walk(node.body, f"{prefix}{node.name}.")

    yield from walk(tree.body, "")


def _first_line(node: ast.FunctionDef) -> int:
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


def comment_block(lines: list[str], node: ast.FunctionDef) -> list[str]:
    """The comment lines right above a function (and its decorators), stripped, in order."""
    block = []
    index = _first_line(node) - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        block.insert(0, lines[index].strip())
        index -= 1
    return block


def _marker(lines: list[str], node: ast.FunctionDef, where: str) -> tuple[str, tuple[str, ...]] | None:
    """(chapter, hint levels) from the comment block right above the function, if it holds a marker."""
    block = comment_block(lines, node)
    for position, line in enumerate(block):
        if line.startswith(MARK):
            chapter, sep, first = line[len(MARK) :].partition("):")
            if not sep or chapter not in MARKERS:
                raise ValueError(f"{where}: expected '# exercise(<one of {', '.join(MARKERS)}>): hint', got {line!r}")
            levels = [[first.strip()]]
            for text in (line.lstrip("#").strip() for line in block[position + 1 :]):
                if text.startswith(HINT):
                    levels.append([text[len(HINT) :].strip()])
                else:
                    levels[-1].append(text)
            joined = tuple(" ".join(part for part in level if part) for level in levels)
            if not all(joined):
                raise ValueError(f"{where}: the exercise marker of {node.name} has an empty hint (level "
                                 f"{joined.index('') + 1} of {len(joined)})")
            return chapter, joined
    return None


def find_exercises(source: str, path: str = "<source>") -> list[Exercise]:
    """The marked functions of one module's source, in the order they appear."""
    lines = source.splitlines()
    found = []
    for name, node in _functions(ast.parse(source)):
        marked = _marker(lines, node, f"{path}:{node.lineno}")
        if marked:
            chapter, levels = marked
            found.append(Exercise(path, name, chapter, levels[-1], node.lineno, levels))
    return found


def package_dir() -> Path:
    """The folder of the package this module belongs to: the reference (or a workspace's copy)."""
    return Path(__file__).resolve().parents[1]


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def package_exercises(root: Path | None = None, chapters: Iterable[str] | None = None) -> list[Exercise]:
    """Every exercise of the package under `root` (default: this package), in course order."""
    root = root or package_dir()
    wanted = set(chapters) if chapters is not None else set(MARKERS)
    found = [
        exercise
        for module in _modules(root)
        for exercise in find_exercises(module.read_text(encoding="utf-8"), module.relative_to(root).as_posix())
        if exercise.chapter in wanted
    ]
    return sorted(found, key=lambda e: (e.number, e.path, e.line))


# ---------------------------------------------------------------------------------------------
# Rewriting bodies


def _docstring_end(node: ast.FunctionDef) -> int | None:
    first = node.body[0]
    is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    return first.end_lineno if is_doc else None


def _body_start(node: ast.FunctionDef, where: str) -> int:
    """0-based index of the first line after the signature and docstring: where the body starts."""
    keep = _docstring_end(node)
    start = keep if keep is not None else node.body[0].lineno - 1
    if node.body[0].lineno == node.lineno:
        raise ValueError(f"{where}: an exercise's body must start on its own line, below the `def`")
    return start


def _quote(text: str) -> str:
    """A double-quoted Python string literal of `text` (the package's quote style)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stub_lines(indent: str, message: str) -> list[str]:
    chunks = textwrap.wrap(
        message, 92 - len(indent), drop_whitespace=False, break_on_hyphens=False, replace_whitespace=False
    )
    assert "".join(chunks) == message
    return [f"{indent}raise NotImplementedError(", *(f"{indent}    {_quote(c)}" for c in chunks), f"{indent})"]


def _nodes(source: str) -> dict[str, ast.FunctionDef]:
    return dict(_functions(ast.parse(source)))


def stub_source(source: str, exercises: Iterable[Exercise], workspace: str = "DIR") -> str:
    """`source` with the bodies of `exercises` replaced by a NotImplementedError carrying the hint."""
    lines = source.splitlines(keepends=True)
    nodes = _nodes(source)
    for exercise in sorted(exercises, key=lambda e: e.line, reverse=True):
        node = nodes[exercise.name]
        where = f"{exercise.path}:{node.lineno}"
        start = _body_start(node, where)
        first_body = lines[node.body[0].lineno - 1]
        indent = first_body[: len(first_body) - len(first_body.lstrip())]
        stub = [line + "\n" for line in _stub_lines(indent, exercise.message(workspace))]
        lines[start : node.end_lineno] = stub
    return "".join(lines)


def is_stub(node: ast.FunctionDef) -> bool:
    """True if the body is still the `raise NotImplementedError("exercise [...")` that `new` wrote."""
    body = node.body[1:] if _docstring_end(node) is not None else node.body
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or not isinstance(body[0].exc, ast.Call):
        return False
    args = body[0].exc.args
    return bool(args) and isinstance(args[0], ast.Constant) and str(args[0].value).startswith(STUB_PREFIX)


def restore_source(source: str, reference: str, names: Iterable[str]) -> str:
    """`source` with the functions `names` (decorators to last line) taken from `reference`."""
    lines = source.splitlines(keepends=True)
    reference_lines = reference.splitlines(keepends=True)
    mine, theirs = _nodes(source), _nodes(reference)
    missing = sorted(set(names) - set(mine))
    if missing:
        raise ValueError(f"restore: {', '.join(missing)} not found in the workspace's module; was it renamed?")
    for name in sorted(names, key=lambda n: mine[n].lineno, reverse=True):
        node, original = mine[name], theirs[name]
        lines[_first_line(node) - 1 : node.end_lineno] = reference_lines[_first_line(original) - 1 : original.end_lineno]
    return "".join(lines)
