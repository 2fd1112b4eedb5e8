"""Exercises: a copy of the package in which the functions a chapter teaches are left to write.

Which functions are exercises is marked in the source itself, by a comment block right above
the `def` (or above its decorators) that starts with `# exercise(<chapter marker>):`

    # exercise(attention): equation (1): scores Q K^T / sqrt(d_head), the dtype's minimum on
    #   masked scores, softmax over the keys, exactly 0 on masked weights; return output and weights.
    def scaled_dot_product_attention(query, key, value, mask=None, dropout_p=0.0):

`new` copies the package into a workspace and replaces each marked body by

    raise NotImplementedError("exercise [attention] scaled_dot_product_attention: <the hint> ...")

keeping the decorators, the signature and the docstring. The rewriting uses the line numbers
of the `ast` module; nothing but the marked bodies changes, and no compiled file is copied, so
the reference solution is not in the workspace. The spec then runs against the copy:

    transformer exercises new ws --chapter attention
    pytest --impl=ws -m attention

`status` says which exercises are still to write; `restore` puts the reference bodies back (to
compare with your own, or to skip one), and gives back the reference source byte for byte.
"""

import argparse
import ast
import shutil
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from transformer.course.syllabus import MARKERS, chapter as chapter_of

MARK = "# exercise("
STUB_PREFIX = "exercise ["
PACKAGE = "transformer"


@dataclass(frozen=True)
class Exercise:
    """One function body to write: where it is, which chapter teaches it, and the hint."""

    path: str  # relative to the package folder, e.g. "rnn/cells.py"
    name: str  # qualified name, e.g. "MultiHeadAttention.attend"
    chapter: str  # the chapter's pytest marker, e.g. "attention"
    hint: str
    line: int  # 1-based line of the `def`

    @property
    def number(self) -> int:
        """The chapter number (06 for attention)."""
        return chapter_of(self.chapter).number

    def message(self, workspace: str = "DIR") -> str:
        """What the stub raises: what to write, the chapter to read, the command that checks it."""
        return (
            f"{STUB_PREFIX}{self.chapter}] {self.name}: {self.hint} "
            f"(chapter {self.number:02d}, {chapter_file(self.chapter)}; "
            f"check with: pytest --impl={workspace} -m {self.chapter})"
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


def _marker(lines: list[str], node: ast.FunctionDef, where: str) -> tuple[str, str] | None:
    """(chapter, hint) from the comment block right above the function, if it holds a marker."""
    block = []
    index = _first_line(node) - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        block.insert(0, lines[index].strip())
        index -= 1
    for position, line in enumerate(block):
        if line.startswith(MARK):
            chapter, sep, first = line[len(MARK) :].partition("):")
            if not sep or chapter not in MARKERS:
                raise ValueError(f"{where}: expected '# exercise(<one of {', '.join(MARKERS)}>): hint', got {line!r}")
            rest = [text.lstrip("#").strip() for text in block[position + 1 :]]
            hint = " ".join(part for part in [first.strip(), *rest] if part)
            if not hint:
                raise ValueError(f"{where}: the exercise marker of {node.name} has no hint")
            return chapter, hint
    return None


def find_exercises(source: str, path: str = "<source>") -> list[Exercise]:
    """The marked functions of one module's source, in the order they appear."""
    lines = source.splitlines()
    found = []
    for name, node in _functions(ast.parse(source)):
        marked = _marker(lines, node, f"{path}:{node.lineno}")
        if marked:
            found.append(Exercise(path, name, marked[0], marked[1], node.lineno))
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


# ---------------------------------------------------------------------------------------------
# Workspaces


def _select(exercises: list[Exercise], chapters: Iterable[str] | None, start: str | None) -> list[Exercise]:
    known = sorted({e.chapter for e in exercises}, key=MARKERS.index)
    chosen = list(chapters or [])
    for chapter in chosen + ([start] if start else []):
        if chapter not in known:
            raise ValueError(f"chapter: expected one of {', '.join(known)}, got {chapter!r}")
    if start:
        chosen += [c for c in known if MARKERS.index(c) >= MARKERS.index(start)]
    if not chosen:
        return exercises
    return [e for e in exercises if e.chapter in chosen]


def _reference() -> Path:
    """This package, refusing a workspace copy (whose bodies are stubs, not the reference)."""
    root = package_dir()
    for module in _modules(root):
        if any(is_stub(node) for _, node in _functions(ast.parse(module.read_text(encoding="utf-8")))):
            raise ValueError(f"{root} is a workspace, not the reference package: run this from outside the workspace")
    return root


def _workspace_package(workspace: Path) -> Path:
    package = Path(workspace) / PACKAGE
    if not (package / "__init__.py").is_file():
        raise ValueError(f"workspace: expected a folder holding {PACKAGE}/__init__.py (made by `new`), got {workspace}")
    return package


def new_workspace(
    workspace: Path, chapters: Iterable[str] | None = None, start: str | None = None
) -> list[Exercise]:
    """Copy the package into `workspace/transformer` with the chosen exercises left to write.

    `chapters`: only these chapters' exercises; `start`: that chapter's and every later one's
    (the earlier ones keep the reference code); neither: every exercise. Returns the exercises.
    """
    workspace = Path(workspace)
    target = workspace / PACKAGE
    if target.exists():
        raise ValueError(f"workspace: {target} already exists; pick a new folder (or `restore` into it)")
    reference = _reference()
    selected = _select(package_exercises(reference), chapters, start)
    shutil.copytree(reference, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
    ignore = workspace / ".gitignore"
    if not ignore.exists():  # a workspace inside the course's checkout stays out of its git status
        ignore.write_text("# a learner's workspace (transformer exercises new)\n*\n", encoding="utf-8")
    by_path: dict[str, list[Exercise]] = {}
    for exercise in selected:
        by_path.setdefault(exercise.path, []).append(exercise)
    for path, exercises in by_path.items():
        module = target / path
        module.write_text(stub_source(module.read_text(encoding="utf-8"), exercises, str(workspace)), encoding="utf-8")
    return selected


def workspace_status(workspace: Path) -> list[tuple[Exercise, str]]:
    """Every exercise marked in the workspace, with its state: "todo" (still the stub),
    "reference" (the reference body, e.g. a chapter not chosen, or restored) or "written"."""
    package = _workspace_package(workspace)
    try:
        reference: Path | None = _reference()
    except ValueError:  # run from inside a workspace: there is no reference to compare with
        reference = None
    status = []
    for exercise in package_exercises(package):
        node = _nodes((package / exercise.path).read_text(encoding="utf-8"))[exercise.name]
        if is_stub(node):
            state = "todo"
        elif reference is not None and _same_body(node, reference / exercise.path, exercise.name):
            state = "reference"
        else:
            state = "written"
        status.append((exercise, state))
    return status


def _same_body(node: ast.FunctionDef, reference_module: Path, name: str) -> bool:
    if not reference_module.is_file():
        return False
    original = _nodes(reference_module.read_text(encoding="utf-8")).get(name)
    return original is not None and ast.dump(original) == ast.dump(node)


def restore(
    workspace: Path, chapters: Iterable[str] | None = None, names: Iterable[str] | None = None
) -> list[Exercise]:
    """Put the reference bodies of the chosen exercises (default: all) back into the workspace."""
    package = _workspace_package(workspace)
    reference = _reference()
    exercises = _select(package_exercises(reference), chapters, None)
    if names:
        names = list(names)
        unknown = sorted(set(names) - {e.name for e in exercises})
        if unknown:
            raise ValueError(f"restore: no exercise named {', '.join(unknown)}; see `status`")
        exercises = [e for e in exercises if e.name in names]
    for path in sorted({e.path for e in exercises}):
        module = package / path
        chosen = [e.name for e in exercises if e.path == path]
        restored = restore_source(module.read_text(encoding="utf-8"), (reference / path).read_text(encoding="utf-8"), chosen)
        module.write_text(restored, encoding="utf-8")
    return exercises


# ---------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `new | status | restore | list` subcommands (also used by `transformer exercises`)."""
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("new", help="copy the package into DIR with exercise bodies left to write")
    p.add_argument("dir")
    p.add_argument("--chapter", action="append", help="only this chapter's exercises (repeatable), e.g. attention")
    p.add_argument("--from", dest="start", metavar="CHAPTER", help="this chapter's exercises and every later one's")
    p = sub.add_parser("status", help="which exercises of workspace DIR are written and which are still to do")
    p.add_argument("dir")
    p = sub.add_parser("restore", help="put reference bodies back into workspace DIR (overwrites yours)")
    p.add_argument("dir")
    p.add_argument("--chapter", action="append")
    p.add_argument("--name", action="append", help="one exercise by name, e.g. MultiHeadAttention.attend")
    p = sub.add_parser("list", help="every exercise of the package, by chapter")
    p.add_argument("--chapter", action="append")
    parser.set_defaults(handler=run)


def _where(exercise: Exercise) -> str:
    return f"{exercise.name}  ({PACKAGE}/{exercise.path}:{exercise.line})"


def _print_table(rows: Iterable[tuple[Exercise, str]]) -> None:
    for exercise, label in rows:
        print(f"{exercise.number:02d} {exercise.chapter:<14} {label:<10} {_where(exercise)}")


def run(args: argparse.Namespace) -> int:
    if args.action == "new":
        selected = new_workspace(Path(args.dir), args.chapter, args.start)
        chapters = sorted({e.chapter for e in selected}, key=MARKERS.index) or ["<chapter>"]
        print(f"workspace {args.dir}: {len(selected)} exercises to write, chapters {', '.join(chapters)}")
        print(f"see them:   transformer exercises status {args.dir}")
        print(f"check one:  pytest --impl={args.dir} -m {chapters[0]}")
    elif args.action == "status":
        status = workspace_status(Path(args.dir))
        _print_table(status)
        states = [state for _, state in status]
        print(f"{states.count('todo')} to do, {states.count('written')} written by you, "
              f"{states.count('reference')} with the reference code")
    elif args.action == "restore":
        restored = restore(Path(args.dir), args.chapter, args.name)
        _print_table((e, "restored") for e in restored)
    else:
        exercises = _select(package_exercises(), args.chapter, None)
        for exercise in exercises:
            print(f"{exercise.number:02d} {exercise.chapter:<14} {_where(exercise)}")
            print(textwrap.indent(textwrap.fill(exercise.hint, 96), "     "))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="transformer exercises", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
