"""Checking a config dataclass: every field has the type its annotation says, and a name for each.

Configs are frozen dataclasses (STYLE.md); each one calls `check_fields(self)` first in its
`__post_init__`, then checks its own ranges and relations. A value typed on the command line
(`--set dropout=abc`, `--train-set epochs=1.5`) therefore fails with one line naming the field,
what it expects and what came, instead of training with a string or failing deep inside.

The annotations understood: `int`, `float`, `bool`, `str`, `X | None`, `tuple[float, float]`,
`tuple[int, ...]`. An `int` field refuses `True` (a bool is an int to Python, never to a
config); a `float` field takes an int and refuses NaN and infinities.
"""

import dataclasses
import math
import types
import typing


def _describe(annotation) -> str:
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "an integer"
    if annotation is float:
        return "a finite number"
    if annotation is str:
        return "a string"
    return str(annotation)


def _matches(value, annotation) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, option) for option in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if annotation is str:
        return isinstance(value, str)
    if origin is tuple:
        args = typing.get_args(annotation)
        if not isinstance(value, (tuple, list)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return len(value) == len(args) and all(_matches(v, a) for v, a in zip(value, args))
    return True  # an annotation this checker does not know: the config checks it itself


def check_fields(config, positive: tuple[str, ...] = ()) -> None:
    """Raise ValueError (one line) for the first field whose value does not fit its annotation,
    or, for the fields named in `positive`, is not above zero."""
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        annotation = hints[field.name]
        value = getattr(config, field.name)
        options = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
        optional = type(None) in typing.get_args(annotation)
        if field.name in positive:
            kind = "integer" if options == [int] else "number"
            fits = _matches(value, annotation) and (value is None or value > 0)
            expected = f"a positive {kind}" + (" or None" if optional else "")
        else:
            fits = _matches(value, annotation)
            expected = " or ".join(_describe(a) for a in options) + (" or None" if optional else "")
        if not fits:
            raise ValueError(f"{type(config).__name__}.{field.name}: expected {expected}, got {value!r}")


def check_choice(config, name: str, choices) -> None:
    """Raise unless the field `name` holds one of `choices`."""
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"{type(config).__name__}.{name}: expected one of {list(choices)}, got {value!r}")


def check_fraction(config, *names: str) -> None:
    """Raise unless each named field lies in [0, 1) (dropout, label smoothing)."""
    for name in names:
        value = getattr(config, name)
        if value is not None and not 0.0 <= value < 1.0:
            raise ValueError(f"{type(config).__name__}.{name}: expected a value in [0, 1), got {value!r}")


def from_dict(cls, values: dict):
    """`cls(**values)`, refusing unknown fields with one line that names the known ones.

    Tuples come back from JSON as lists; a field annotated as a tuple gets a tuple again.
    """
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}; "
                         f"expected some of {', '.join(sorted(known))}")
    hints = typing.get_type_hints(cls)
    fixed = {k: tuple(v) if typing.get_origin(hints[k]) is tuple and isinstance(v, list) else v
             for k, v in values.items()}
    return cls(**fixed)
