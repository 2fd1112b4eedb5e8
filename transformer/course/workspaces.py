"""Workspaces: a learner's copy of the package with exercise bodies left blank, and the
`transformer exercises` command (`new`, `status`, `hint`, `restore`, `list`).

`status` says which exercises are still to write (`todo`), which you wrote (`written`, or
`written (same as the reference)` when your body equals the package's), which `restore` put back
(`restored`, until you edit them) and which were never left blank (`reference`). `restore` puts
the reference bodies back (to compare with your own, or to skip one), and gives back the
reference source byte for byte. A small record in the workspace, `DIR/.exercises.json`, keeps
what `new` left blank, what `restore` put back and how many hints each exercise has had. The
marked functions and the rewriting of their bodies are `transformer.course.exercises`.
"""

import argparse
import ast
import difflib
import json
import shutil
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

from transformer.course import exercises as marked
from transformer.course.exercises import (
    PACKAGE,
    Exercise,
    _functions,
    _modules,
    _nodes,
    is_stub,
    package_exercises,
    restore_source,
    stub_source,
)
from transformer.course.syllabus import MARKERS

RECORD = ".exercises.json"  # inside a workspace: what `new` left blank, what was restored, hints given


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
    root = marked.package_dir()  # looked up on the module, so a test can point it elsewhere
    for module in _modules(root):
        if any(is_stub(node) for _, node in _functions(ast.parse(module.read_text(encoding="utf-8")))):
            raise ValueError(f"{root} is a workspace, not the reference package: run this from outside the workspace")
    return root


def _workspace_package(workspace: Path) -> Path:
    package = Path(workspace) / PACKAGE
    if not (package / "__init__.py").is_file():
        raise ValueError(f"workspace: expected a folder holding {PACKAGE}/__init__.py (made by `new`), got {workspace}")
    return package


def read_record(workspace: Path) -> dict:
    """The workspace's record: {"stubbed": [keys], "restored": [keys], "hints": {key: levels seen}}
    (keys are `Exercise.key`). A workspace made before there was a record has none: `stubbed` is
    then None, and nothing is known to be restored."""
    path = Path(workspace) / RECORD
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"stubbed": None}
    record.setdefault("restored", [])
    record.setdefault("hints", {})
    return record


def _write_record(workspace: Path, record: dict) -> None:
    ordered = {
        "stubbed": sorted(record["stubbed"]) if record.get("stubbed") is not None else None,
        "restored": sorted(set(record["restored"])),
        "hints": dict(sorted(record["hints"].items())),
    }
    (Path(workspace) / RECORD).write_text(json.dumps(ordered, indent=1) + "\n", encoding="utf-8")


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
    _write_record(workspace, {"stubbed": [e.key for e in selected], "restored": [], "hints": {}})
    return selected


TODO, WRITTEN, SAME, RESTORED, REFERENCE = (
    "todo", "written", "written (same as the reference)", "restored", "reference")
STATES = (TODO, WRITTEN, SAME, RESTORED, REFERENCE)


def workspace_status(workspace: Path) -> list[tuple[Exercise, str]]:
    """Every exercise marked in the workspace, with its state: "todo" (still the stub), "written"
    (your body), "written (same as the reference)" (yours, and equal to the package's), "restored"
    (put back by `restore` and not edited since) or "reference" (never left blank here: a chapter
    not chosen). Run from inside a workspace, there is no reference to compare with, and every
    body that is not a stub counts as written."""
    package = _workspace_package(workspace)
    record = read_record(workspace)
    stubbed = set(record["stubbed"]) if record["stubbed"] is not None else None
    restored = set(record["restored"])
    try:
        reference: Path | None = _reference()
    except ValueError:  # run from inside a workspace: there is no reference to compare with
        reference = None
    status = []
    for exercise in package_exercises(package):
        node = _nodes((package / exercise.path).read_text(encoding="utf-8"))[exercise.name]
        if is_stub(node):
            state = TODO
        elif reference is None or not _same_body(node, reference / exercise.path, exercise.name):
            state = WRITTEN
        elif exercise.key in restored:
            state = RESTORED
        elif stubbed is not None and exercise.key in stubbed:
            state = SAME
        else:
            state = REFERENCE
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
    record = read_record(workspace)
    record["restored"] = [*record["restored"], *(e.key for e in exercises)]
    _write_record(workspace, record)
    return exercises


def find_exercise(exercises: list[Exercise], name: str) -> Exercise:
    """The exercise called `name` (its qualified name, or `path:name` where names repeat)."""
    matches = [e for e in exercises if name in (e.name, e.key)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValueError(f"exercise: {name} is in several modules; say which: {', '.join(e.key for e in matches)}")
    close = difflib.get_close_matches(name, [e.name for e in exercises], n=3)
    maybe = f"; did you mean {' or '.join(close)}?" if close else "; see `transformer exercises list`"
    raise ValueError(f"exercise: no exercise named {name!r}{maybe}")


def next_hint(workspace: Path, name: str) -> tuple[Exercise, int, str | None]:
    """The next hint level of exercise `name` in `workspace`, remembered in its record.

    Returns (exercise, level, text): the level (1-based) and text given now, or text None when
    every level was given already (level is then the number of levels). The stub gives level 1,
    so the first call gives level 2."""
    exercise = find_exercise(package_exercises(_workspace_package(workspace)), name)
    record = read_record(workspace)
    seen = int(record["hints"].get(exercise.key, 1))
    if seen >= len(exercise.levels):
        return exercise, len(exercise.levels), None
    record["hints"][exercise.key] = seen + 1
    _write_record(workspace, record)
    return exercise, seen + 1, exercise.levels[seen]


# ---------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `new | status | hint | restore | list` subcommands (also used by `transformer exercises`)."""
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("new", help="copy the package into DIR with exercise bodies left to write")
    p.add_argument("dir")
    p.add_argument("--chapter", action="append", help="only this chapter's exercises (repeatable), e.g. attention")
    p.add_argument("--from", dest="start", metavar="CHAPTER", help="this chapter's exercises and every later one's")
    p = sub.add_parser("status", help="which exercises of workspace DIR are written and which are still to do")
    p.add_argument("dir")
    p = sub.add_parser("hint", help="the next hint for exercise NAME of workspace DIR (one more level each time)")
    p.add_argument("dir")
    p.add_argument("name", help="the exercise, as status lists it, e.g. MultiHeadAttention.attend")
    p = sub.add_parser("restore", help="put reference bodies back into workspace DIR (overwrites yours)")
    p.add_argument("dir")
    p.add_argument("--chapter", action="append")
    p.add_argument("--name", action="append", help="one exercise by name, e.g. MultiHeadAttention.attend")
    p = sub.add_parser("list", help="every exercise of the package, by chapter, with its task")
    p.add_argument("--chapter", action="append")
    parser.set_defaults(handler=run)


def _where(exercise: Exercise) -> str:
    return f"{exercise.name}  ({PACKAGE}/{exercise.path}:{exercise.line})"


def _print_table(rows: Iterable[tuple[Exercise, str]]) -> None:
    width = max(len(state) for state in STATES)
    for exercise, label in rows:
        print(f"{exercise.number:02d} {exercise.chapter:<14} {label:<{width}} {_where(exercise)}")


def _print_hint(workspace: str, name: str) -> None:
    exercise, level, text = next_hint(Path(workspace), name)
    total = len(exercise.levels)
    if text is None:
        only = "its stub's, the only one" if total == 1 else f"all {total}, the last being the full recipe"
        print(f"{exercise.name}: no further hint; you have had {only}:")
        print(textwrap.indent(textwrap.fill(exercise.hint, 92), "    "))
        print(f"to compare with the package's own code: transformer exercises restore {workspace} "
              f"--name {exercise.name} (replaces yours)")
        return
    last = " (the last: the full recipe)" if level == total else ""
    print(f"{exercise.name}, hint {level} of {total}{last}:")
    print(textwrap.indent(textwrap.fill(text, 92), "    "))
    if level < total:
        print(f"another: transformer exercises hint {workspace} {exercise.name}")


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
        print(f"{states.count(TODO)} to do, {states.count(WRITTEN) + states.count(SAME)} written by you "
              f"({states.count(SAME)} the same as the reference), {states.count(RESTORED)} restored, "
              f"{states.count(REFERENCE)} with the reference code (not left blank)")
    elif args.action == "hint":
        _print_hint(args.dir, args.name)
    elif args.action == "restore":
        restored = restore(Path(args.dir), args.chapter, args.name)
        _print_table((e, RESTORED) for e in restored)
    else:
        exercises = _select(package_exercises(), args.chapter, None)
        for exercise in exercises:
            levels = len(exercise.levels)
            print(f"{exercise.number:02d} {exercise.chapter:<14} {_where(exercise)}  "
                  f"[{levels} hint level{'s' if levels != 1 else ''}]")
            print(textwrap.indent(textwrap.fill(exercise.task, 96), "     "))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="transformer exercises", description=__doc__.splitlines()[1])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
