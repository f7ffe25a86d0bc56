"""A small document model shared by every output format (terminal, Markdown, LaTeX, HTML).

:mod:`lstmkit.explain.build` turns a trace into a :class:`Document`; each ``render_*`` module turns
the document into one format. Numbers arrive here already formatted as strings, so every format
prints exactly the same digits (and golden tests of one format check them all).

Math nodes: :class:`Sym` (``W_ii``, ``h_{t-1}``, ``c̃_t``), :class:`Num`, :class:`Mat` (a matrix or
a column vector, shown as a bracketed block), :class:`Vec` (an inline ``[a, b]ᵀ``), :class:`Op`,
:class:`Call` (``σ(…)``), :class:`Seq` (a row of nodes). Blocks: :class:`Heading`, :class:`Para`,
:class:`Equation` (``lhs = rhs₀ = rhs₁ …``, one right-hand side a line), :class:`Table`,
:class:`Figure` (a chart; only the HTML page shows it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Sym:
    name: str  # "W", "h", "c", "σ"
    sub: str = ""  # "ii", "t-1", "1"
    tilde: bool = False  # c̃
    sup: str = ""  # "⊤"
    index: str = ""  # an entry, after the subscripts: h_3[1] (unit 1, counted from 1), y_1[class 0]


@dataclass(frozen=True)
class Num:
    text: str


@dataclass(frozen=True)
class Mat:
    rows: tuple[tuple[str, ...], ...]  # formatted entries; a column vector is n rows of 1


@dataclass(frozen=True)
class Vec:
    items: tuple[str, ...]  # formatted entries, shown [a, b]ᵀ (transposed when ``column``)
    column: bool = True


@dataclass(frozen=True)
class Op:
    text: str  # "+", "-", "=", "×", "*", "·", ","


@dataclass(frozen=True)
class Call:
    fn: str  # "σ", "tanh", "softmax", "f", "F"
    arg: "Node"


@dataclass(frozen=True)
class Seq:
    items: tuple["Node", ...]


Node = Union[Sym, Num, Mat, Vec, Op, Call, Seq]


def seq(*items) -> Seq:
    """A row of nodes; strings become :class:`Op` (operators / words), None is skipped."""
    out = []
    for it in items:
        if it is None:
            continue
        out.append(Op(it) if isinstance(it, str) else it)
    return Seq(tuple(out))


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str


@dataclass
class Equation:
    lhs: Node
    rhs: list[Node]
    note: str = ""  # a short remark shown after the equation ("h_0 = 0, so W_hi h_0 drops out")


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    align: str = ""  # one letter per column, "l" or "r"; default: first left, the rest right

    def column_align(self, n: int) -> str:
        """Column ``n``'s alignment, "l" or "r" (numbers): ``align``'s letter, else the first left, the rest right."""
        return self.align[n] if n < len(self.align) else ("l" if n == 0 else "r")


@dataclass
class Figure:
    name: str  # "heatmaps" | "traces"
    caption: str
    png: bytes = b""  # filled by the HTML renderer
    alt: str = ""  # the picture in words for a screen reader (its content, not the caption again); "" if decorative


Block = Union[Heading, Para, Equation, Table, Figure]


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)
    subtitle: str = ""

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)
