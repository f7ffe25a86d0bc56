"""The worked examples shipped with lstmkit, as package data: the seed decks' own (``seed000``,
``seed001``, ``seed002``) and the LSTM variants' (``variants``), the files ``NAME.toml`` of this
folder, read through :mod:`importlib.resources` (an installed wheel has them; a checkout's
``examples/NAME.toml`` are byte-identical copies of them, kept so by
``tests/test_cli.py``). Their format is :mod:`lstmkit.explain.worked`'s.

A worked example is named ``builtin:NAME`` wherever a worked-example file is taken:
``lstmkit.explain.load("builtin:seed000")``, ``lstmkit explain builtin:seed000``, ``lstmkit check
builtin:seed000``, as ``lstmkit forecast builtin:airline`` names the shipped series. The prefix is
needed (a bare ``seed000`` is a path), so that a name never depends on the files of the working
folder. This module imports only the standard library (and :mod:`lstmkit._checks` to refuse a
name), so that the command line lists the names in its ``--help`` without importing :mod:`lstmkit.explain`.
"""

from __future__ import annotations

from importlib import resources

#: the prefix of a built-in example's name: ``builtin:seed000`` is this folder's ``seed000.toml``
PREFIX = "builtin:"


def names() -> tuple[str, ...]:
    """The built-in examples' names, sorted: ``("seed000", "seed001", "seed002", "variants")``."""
    folder = resources.files(__name__)
    return tuple(sorted(f.name[: -len(".toml")] for f in folder.iterdir() if f.name.endswith(".toml")))


def full_names() -> list[str]:
    """The built-in examples as they are named: ``["builtin:seed000", ..., "builtin:variants"]``."""
    return [PREFIX + n for n in names()]


def resolve(source, where: str = "load") -> str | None:
    """The name of the built-in example that ``source`` names (``"builtin:seed000"`` -> ``"seed000"``),
    or None where it names a file: a string that does not start with ``builtin:``, or a ``Path``.
    ``builtin:`` and a name that is not among :func:`names` is a ValueError that lists them."""
    if not isinstance(source, str) or not source.startswith(PREFIX):
        return None
    name = source[len(PREFIX):]
    if name not in names():
        from .._checks import fail

        fail(where, "a worked-example file or a built-in one", f"among {full_names()}", repr(source))
    return name


def read_bytes(name: str) -> bytes:
    """The file of the built-in example ``name`` (one of :func:`names`), as it is shipped."""
    return resources.files(__name__).joinpath(f"{name}.toml").read_bytes()
