"""Terminal output: math laid out in two dimensions (matrices as bracketed blocks), tables by rich.

:func:`math_box` lays a math node out as a box of equal-width lines with a baseline;
:func:`render` prints a whole document through a rich ``Console``. With ``width`` fixed and
colours off, the output is byte-for-byte stable, which is what the golden tests compare.

For an output that cannot encode the symbols (``render(..., encoding="ascii")``; a Windows file
``cp1252``), each is spelled in ASCII (:data:`ASCII`: ``σ`` as ``sigma``, ``c̃`` as ``c~``, ``ᵀ`` as
``^T``, ``⎡`` as ``[``, ``─`` as ``-``) before the layout, so that matrices and tables stay aligned.
:func:`spell` spells a finished text so (Markdown); any other character the encoding cannot hold
is written as Python's backslash escape (``\\u043c``). The spelling is the codec error handler
:data:`ERRORS` (``"lstmkit.ascii"``).
"""

from __future__ import annotations

import codecs
import dataclasses
import re
import textwrap
import unicodedata
from dataclasses import dataclass

from .._checks import optional_import, printable
from .doc import Call, Document, Equation, Figure, Heading, Mat, Num, Op, Para, Seq, Sym, Table, Vec

#: the ASCII spelling of each symbol lstmkit writes, where the output cannot encode it; the brackets and
#: rules that matrices and tables are drawn with are one character for one, so the layout holds
ASCII: dict[str, str] = {
    "σ": "sigma", "Σ": "sum", "ᵀ": "^T", "⊤": "^T", "\u0303": "~", "\u0302": "^", "·": "*", "×": "*", "⊙": "*",
    "±": "+/-", "²": "^2", "μ": "mu", "µ": "mu", "ε": "eps", "γ": "gamma", "β": "beta", "α": "alpha", "η": "eta",
    "θ": "theta", "λ": "lambda", "π": "pi", "τ": "tau", "∂": "d", "√": "sqrt", "∞": "inf", "→": "->", "←": "<-",
    "≤": "<=", "≥": ">=", "≈": "~", "≠": "!=", "∈": "in", "—": "--", "–": "-", "−": "-", "…": "...", "‖": "||",
    "‘": "'", "’": "'", "“": '"', "”": '"', "ŷ": "y^", "ẑ": "z^", "ȳ": "y_mean", "ℓ": "l", "₀": "0", "₁": "1", "₂": "2",
    "ᵗ": "^t", "ᵏ": "^k", "ᵖ": "^p", "⌈": "ceil(", "⌉": ")", "⌊": "floor(", "⌋": ")",
    "─": "-", "━": "-", "│": "|", "⎡": "[", "⎢": "[", "⎣": "[", "⎤": "]", "⎥": "]", "⎦": "]",
    "⎛": "(", "⎜": "(", "⎝": "(", "⎞": ")", "⎟": ")", "⎠": ")",
}  # fmt: skip

#: the codec error handler that writes :data:`ASCII`'s spelling (another character: its backslash escape)
ERRORS = "lstmkit.ascii"


def _spell(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    part = exc.object[exc.start : exc.end]
    return "".join(ASCII.get(ch) or ch.encode("ascii", "backslashreplace").decode("ascii") for ch in part), exc.end


codecs.register_error(ERRORS, _spell)


def encodes_symbols(encoding: str | None) -> bool:
    """Whether text in ``encoding`` can hold every symbol of :data:`ASCII` (UTF-8 can; ASCII, Latin-1 and
    cp1252 cannot); None (a stream that does not say, an in-memory one): yes."""
    if encoding is None:
        return True
    try:
        "".join(ASCII).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def spell(text: str, encoding: str | None) -> str:
    """``text`` with the characters ``encoding`` cannot encode spelled in ASCII (:data:`ASCII`, else a
    backslash escape); ``text`` itself where the encoding holds every symbol (:func:`encodes_symbols`)."""
    return text if encodes_symbols(encoding) else text.encode(encoding, ERRORS).decode(encoding)


def _map_text(x, fn, marks=None):
    """A document (or any part of it: a str, a list or tuple, a dataclass, walked through) with every
    string through ``fn``; ``marks(part)``, where given, replaces a part first unless it returns None."""
    if marks is not None and (done := marks(x)) is not None:
        return done
    if isinstance(x, str):
        return fn(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_map_text(v, fn, marks) for v in x)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return dataclasses.replace(x, **{f.name: _map_text(getattr(x, f.name), fn, marks) for f in dataclasses.fields(x)})
    return x


def _spelled(x, encoding: str):
    """A document (or any part of it) with every character ``encoding`` cannot encode spelled as
    :data:`ERRORS` does; the marks the layout adds (c̃'s tilde, a column vector's ᵀ) spelled too."""

    def text(s: str) -> str:
        return s.encode(encoding, ERRORS).decode(encoding)

    def marks(part):
        if isinstance(part, Sym) and part.tilde:
            return _spelled(dataclasses.replace(part, name=part.name + "\u0303", tilde=False), encoding)
        if isinstance(part, Vec):  # written as the text math_box gives it
            return Op(text("[" + ", ".join(part.items) + "]" + ("ᵀ" if part.column else "")))
        return None

    return _map_text(x, text, marks)


def _printable(x):
    """A document (or any part of it) with every string through :func:`~lstmkit._checks.printable`:
    its text comes from files (a worked example's title, labels and notes, a model's class names),
    and a control character in it (ESC) is shown as its escape (``\\x1b``), not sent to the terminal."""
    return _map_text(x, printable)


def width(s: str) -> int:
    """Terminal cells taken by ``s`` (combining marks, like the tilde of c̃, take none)."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in s)


def _pad(s: str, w: int, right: bool = False) -> str:
    fill = " " * (w - width(s))
    return fill + s if right else s + fill


@dataclass
class Box:
    lines: list[str]
    base: int  # the line the box sits on (operators and one-line neighbours align to it)

    @property
    def w(self) -> int:
        return max((width(s) for s in self.lines), default=0)

    @property
    def h(self) -> int:
        return len(self.lines)


def _one(s: str) -> Box:
    return Box([s], 0)


def sym_text(s: Sym) -> str:
    name = s.name + ("\u0303" if s.tilde else "")
    out = name + (f"_{s.sub}" if s.sub else "")
    return out + ("ᵀ" if s.sup == "⊤" else s.sup) + (f"[{s.index}]" if s.index else "")


def hcat(boxes: list[Box], sep: str = " ") -> Box:
    """Place boxes side by side, aligned on their baselines."""
    if not boxes:
        return _one("")
    above = max(b.base for b in boxes)
    below = max(b.h - b.base - 1 for b in boxes)
    lines = [""] * (above + below + 1)
    for n, b in enumerate(boxes):
        top = above - b.base
        for r in range(len(lines)):
            cell = b.lines[r - top] if 0 <= r - top < b.h else ""
            lines[r] += (sep if n else "") + _pad(cell, b.w)
    return Box(lines, above)


def _bracket(inner: Box, left: str, right: str) -> Box:
    """Wrap in brackets that grow with the content: [ ] for one line, ⎡⎢⎣ ⎤⎥⎦ (or ⎛⎜⎝ ⎞⎟⎠) for more."""
    if inner.h == 1:
        return Box([left + inner.lines[0] + right], 0)
    tall = {"[": "⎡⎢⎣", "]": "⎤⎥⎦", "(": "⎛⎜⎝", ")": "⎞⎟⎠"}
    L, R = tall[left], tall[right]
    lines = []
    for r, s in enumerate(inner.lines):
        pos = 0 if r == 0 else 2 if r == inner.h - 1 else 1
        lines.append(L[pos] + _pad(s, inner.w) + R[pos])
    return Box(lines, inner.base)


def math_box(node) -> Box:
    """Lay out one math node."""
    if isinstance(node, Sym):
        return _one(sym_text(node))
    if isinstance(node, Num):
        return _one(node.text)
    if isinstance(node, Op):
        return _one(node.text)
    if isinstance(node, Vec):
        s = "[" + ", ".join(node.items) + "]" + ("ᵀ" if node.column else "")
        return _one(s)
    if isinstance(node, Mat):
        ncol = max(len(r) for r in node.rows)
        ws = [max(width(r[c]) for r in node.rows if c < len(r)) for c in range(ncol)]
        lines = [" ".join(_pad(r[c], ws[c], right=True) for c in range(len(r))) for r in node.rows]
        inner = Box(lines, (len(lines) - 1) // 2)
        return _bracket(inner, "[", "]")
    if isinstance(node, Call):
        inner = math_box(node.arg)
        return hcat([_one(node.fn), _bracket(inner, "(", ")")], sep="") if node.fn else _bracket(inner, "(", ")")
    if isinstance(node, Seq):
        boxes = []
        for it in node.items:
            b = math_box(it)
            if isinstance(it, Op) and it.text in ("[", "]", ",") and boxes:
                # tight punctuation: [h, x]
                prev = boxes.pop()
                boxes.append(hcat([prev, b], sep="") if it.text != "[" else hcat([prev, b]))
                continue
            boxes.append(b)
        return _tight(node, boxes)
    raise TypeError(f"math_box: expected a math node, got {type(node).__name__}")


def _tight(node: Seq, boxes: list[Box]) -> Box:
    # a "[" opens without a space after it; "," and "]" close up to the left (handled above)
    out: list[Box] = []
    glue_next = False
    for b in boxes:
        if glue_next and out:
            out[-1] = hcat([out[-1], b], sep="")
        else:
            out.append(b)
        glue_next = b.lines[b.base].endswith("[") and b.w == 1
    return hcat(out)


def equation_lines(eq: Equation, width_: int | None = None) -> list[str]:
    """``lhs = rhs₀`` then ``    = rhs₁`` …, the = signs in one column, a blank line between. The
    note, ``(note)`` under the right-hand sides, wraps at spaces within ``width_`` columns (None:
    one line), each line indented as the first; the math itself is laid out whole."""
    lhs = math_box(eq.lhs)
    out: list[str] = []
    for n, r in enumerate(eq.rhs):
        left = lhs if n == 0 else Box([" " * lhs.w], 0)
        b = hcat([left, _one("="), math_box(r)])
        out.extend(s.rstrip() for s in b.lines)
    if eq.note:
        indent = " " * (lhs.w + 3)
        room = None if width_ is None else max(width_ - len(indent), 20)  # (a deep indent at a narrow width: 20 a line)
        lines = [f"({eq.note})"] if room is None else textwrap.wrap(f"({eq.note})", room, break_long_words=False, break_on_hyphens=False)
        out += [indent + line for line in lines]
    return out


def render(doc: Document, width_: int = 100, color: bool = False, encoding: str | None = None) -> str:
    """The document as terminal text (rich tables, laid-out equations) ``width_`` columns wide; returns
    the text. No number in a table, nor any word of a cell holding a digit (``tanh(-0.6)``), is ever
    cut or broken across lines (:func:`_table`: narrow, a block of ``header: value`` lines a row). ``encoding``: the output's, where it cannot hold every
    symbol (:func:`encodes_symbols`): what it cannot encode is spelled in ASCII (:data:`ASCII`), and
    laid out as spelled. A control character of the document's text (ESC, from a file) is laid out
    as its escape, ``\\x1b`` (:func:`~lstmkit._checks.printable`); the colours (``color``) are rich's own."""
    with optional_import("rich", "explain", "to lay out fmt='text'"):
        from rich.console import Console
        from rich.text import Text

    doc = _printable(doc)
    if not encodes_symbols(encoding):
        doc = _spelled(doc, encoding)
    con = Console(width=width_, record=True, color_system="standard" if color else None,
                  force_terminal=color, no_color=not color, file=_Null(), highlight=False, emoji=False)
    con.print(Text(doc.title, style="bold"))
    if doc.subtitle:
        con.print(Text(doc.subtitle, style="dim"))
    for b in doc.blocks:
        if isinstance(b, Heading):
            con.print()
            if b.level <= 2 and width(b.text) + 2 > width_:  # rich's rule would cut it with '…': wrapped, then a rule
                con.print(Text(b.text, style="bold"))
                con.rule(characters="─")
            elif b.level <= 2:
                con.rule(Text(b.text, style="bold"), characters="─", align="left")
            else:
                con.print(Text(b.text, style="bold underline"))
        elif isinstance(b, Para):
            con.print(Text(b.text))
        elif isinstance(b, Equation):
            con.print(Text("\n".join(equation_lines(b, width_))), overflow="ignore", crop=False, no_wrap=True)
            con.print()
        elif isinstance(b, Table):
            if b.caption:  # printed as a line of its own: a table title would wrap at the table's width
                con.print(Text(b.caption, style="italic"))
            _table(con, b, width_)
        elif isinstance(b, Figure):
            continue  # pictures are in the HTML page
    return spell(con.export_text(styles=color), encoding)  # what the layout drew: brackets, rules, one for one


#: where a table would not fit otherwise, a word of its text columns longer than this may be folded
#: (broken across lines), never one holding a digit (``tanh(-0.6)``, ``W_f·[h_0,``): see :func:`_table`
_FOLD = 8
_DIGIT = re.compile(r"\d")


def _table(con, b: Table, width_: int) -> None:
    """Print table ``b`` on ``con`` in ``width_`` columns. Columns wrap at spaces and share the width:
    each as wide as its widest cell up to a common level, the widest cut down to it, none below its
    longest word (a number: the right-aligned columns are numbers). Where that does not fit, a text
    column's words longer than :data:`_FOLD` may fold, unless they hold a digit (``tanh(-0.6)``); where
    that does not fit either, each row is a block of ``header: value`` lines instead. No word holding a
    digit, in any column, is ever cut or broken across lines (in the block layout, none longer than
    ``width_ - 2`` cells)."""
    from rich import box as rbox
    from rich.measure import Measurement
    from rich.padding import Padding
    from rich.table import Table as RTable
    from rich.text import Text

    n_cols = len(b.header)
    cells = [[b.header[n], *(r[n] for r in b.rows if n < len(r))] for n in range(n_cols)]
    numeric = [b.column_align(n) == "r" for n in range(n_cols)]
    most = [max(width(c) for c in col) for col in cells]  # each cell on one line
    word = [max((width(w) for c in col for w in c.split()), default=1) for col in cells]
    digit = [max((width(w) for c in col for w in c.split() if _DIGIT.search(w)), default=0) for col in cells]
    probe = RTable(box=rbox.SIMPLE_HEAD, pad_edge=False)  # the edges, separators and padding around the cells
    for _ in range(n_cols):
        probe.add_column(width=1)
    room = width_ - (Measurement.get(con, con.options.update_width(10**6), probe).maximum - n_cols)
    least = word
    if sum(least) > room:
        least = [w if numeric[n] else max(min(w, _FOLD), digit[n]) for n, w in enumerate(word)]
    if sum(least) > room:
        for row in b.rows:
            lines = [f"{h}: {c}" if h else c for h, c in zip(b.header, row) if c]
            for k, line in enumerate(lines):
                con.print(Padding(Text(line, style="" if k else "bold"), (0, 0, 0, 2 if k else 0)), overflow="fold")
        return

    def level(cap: int) -> list[int]:  # every column cut down to ``cap``, none below its least
        return [min(m, max(q, cap)) for m, q in zip(most, least)]

    cap = max(most)
    while sum(level(cap)) > room:  # the highest level that fits: narrow columns whole, the widest wrapped
        cap -= 1
    widths = level(cap)
    short = [n for n in reversed(range(n_cols)) if widths[n] < most[n]]
    for n in short[: room - sum(widths)]:  # the room left: a cell each, from the right
        widths[n] += 1
    t = RTable(box=rbox.SIMPLE_HEAD, pad_edge=False)
    for n, h in enumerate(b.header):
        t.add_column(Text(h), justify="right" if numeric[n] else "left", width=widths[n], overflow="fold")
    for row in b.rows:
        t.add_row(*(Text(c) for c in row))  # Text: no markup, "[h,x]" stays as written
    con.print(t)


class _Null:
    def write(self, s):
        return len(s)

    def flush(self):
        pass
