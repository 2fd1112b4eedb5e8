"""Every assertion of the spec says which property broke and by how much.

A bare `assert x == y` fails with `AssertionError` and nothing else, and a bare
`torch.testing.assert_close(a, b)` with `Tensor-likes are not close!`: neither says which fact of
the module broke, so a learner cannot tell what to fix. This test reads every `tests/test_*.py`
with `ast` and lists

  (a) each `assert` statement without a message (`assert condition, "what broke and by how much"`),
  (b) each call of `torch.testing.assert_close` without `msg=` (a module's own helper called
      `assert_close` that takes the message as a required argument counts as giving one, where
      the call passes it).

`pytest.raises(..., match=...)` and other checks are not assertions in this sense and are left alone.
"""

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

def _message_parameter(tree: ast.Module) -> tuple[int, str] | None:
    """(position, name) of the message argument of a module-level `def assert_close` helper, if
    it has one: its third parameter, required (no default)."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "assert_close":
            arguments = node.args.posonlyargs + node.args.args
            required = len(arguments) - len(node.args.defaults)
            if len(arguments) >= 3 and required >= 3:
                return 2, arguments[2].arg
            return None
    return None


def missing_messages(source: str, filename: str = "<test>") -> list[str]:
    """`file:line: what is missing` for every assertion of `source` that gives no message."""
    tree = ast.parse(source, filename)
    helper = _message_parameter(tree)
    has_helper = any(isinstance(n, ast.FunctionDef) and n.name == "assert_close" for n in tree.body)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is None:
            problems.append(f"{filename}:{node.lineno}: `assert` without a message")
        elif isinstance(node, ast.Call):
            function = node.func
            keywords = {keyword.arg for keyword in node.keywords}
            if isinstance(function, ast.Attribute) and function.attr == "assert_close":
                if "msg" not in keywords:
                    problems.append(f"{filename}:{node.lineno}: `assert_close` without msg=")
            elif isinstance(function, ast.Name) and function.id == "assert_close":
                if not has_helper:  # torch.testing's, imported by name
                    if "msg" not in keywords:
                        problems.append(f"{filename}:{node.lineno}: `assert_close` without msg=")
                elif helper is None:
                    problems.append(f"{filename}:{node.lineno}: this file's own `assert_close` takes no required message")
                elif len(node.args) <= helper[0] and helper[1] not in keywords:
                    problems.append(f"{filename}:{node.lineno}: `assert_close` without its `{helper[1]}` message")
    return sorted(problems, key=lambda p: int(p.split(":")[1]))


def checked_files() -> list[Path]:
    return sorted(TESTS.glob("test_*.py"))


@pytest.mark.parametrize("path", checked_files(), ids=lambda p: p.name)
def test_every_assertion_says_which_property_broke(path):
    """A failure must teach: each `assert` and `assert_close` of the spec carries its message."""
    problems = missing_messages(path.read_text(encoding="utf-8"), f"tests/{path.name}")
    assert not problems, (
        f"{len(problems)} assertions without a message (say which property broke and by how much):\n"
        + "\n".join(problems))


SAMPLE = '''
import torch

def test_sample(x):
    assert x == 1
    assert x == 1, "x is not 1"
    torch.testing.assert_close(x, 1)
    torch.testing.assert_close(x, 1, msg="x is not 1")
    torch.testing.assert_close(x, 1, msg=lambda m: f"x drifted. {m}")
'''


def test_the_checker_finds_bare_asserts_and_assert_close_without_msg():
    problems = missing_messages(SAMPLE, "s.py")
    assert problems == ["s.py:5: `assert` without a message", "s.py:7: `assert_close` without msg="], problems


def test_a_files_own_assert_close_helper_counts_when_it_is_given_its_message():
    helper = "def assert_close(actual, expected, what, **tolerances):\n    torch.testing.assert_close(actual, expected, msg=what)\n"
    calls = "assert_close(a, b, 'a is not b')\nassert_close(a, b, what='a is not b')\nassert_close(a, b)\n"
    problems = missing_messages(helper + calls, "h.py")
    assert problems == ["h.py:5: `assert_close` without its `what` message"], problems
    imported = missing_messages("from torch.testing import assert_close\nassert_close(a, b)\nassert_close(a, b, msg='m')\n", "i.py")
    assert imported == ["i.py:2: `assert_close` without msg="], imported
