"""Markdown: headings, pipe tables, and equations as ``$$ \\begin{aligned} … $$`` blocks
(LaTeX math, as GitHub, GitLab, Jupyter and pandoc render it)."""

from __future__ import annotations

import re

from .._checks import printable
from .doc import Document, Equation, Figure, Heading, Para, Table
from .render_latex import equation_tex


def _text(s: str, line: bool = False) -> str:
    """Text of the document (a worked example's title, labels and notes may come from someone
    else's file) as Markdown shows it, not as it would run or link: ``<`` as ``&lt;`` (a Markdown
    viewer renders raw HTML: ``<img src=x onerror=...>``), an image's ``![`` as ``\\![`` and a link's
    ``](`` / ``][`` as ``\\](`` / ``\\][`` (``![t](https://...)`` would be fetched and shown,
    ``[t](url)`` a link), control characters as their escapes (:func:`~lstmkit._checks.printable`);
    ``line``: a heading, a table cell, a note or a caption, whose newlines become spaces (a newline
    there would start a heading or a table row of the file's own). lstmkit's own text holds none
    of ``<``, ``![``, ``](``, ``][``, so the built-in examples' Markdown is as before. A
    paragraph line's opening ``#`` or ``[`` is escaped too (``# x`` would be a heading, ``[x]: url`` a link
    definition that turns a later ``[x]`` into a link)."""
    s = printable(s).replace("<", "&lt;").replace("![", "\\![").replace("](", "\\](").replace("][", "\\][")
    if line:  # (set after a '#', '| ' or '*(' of the renderer's: never at a line's start)
        return " ".join(s.splitlines())
    return re.sub(r"(?m)^(\s*)([#\[])", r"\1\\\2", s)  # a paragraph line's opening '#' or '[' as text: not a heading, not a link definition


def _cell(s: str) -> str:
    return _text(s, line=True).replace("|", "\\|") or " "


def render(doc: Document) -> str:
    out = [f"# {_text(doc.title, True)}", ""]
    if doc.subtitle:
        out += [f"*{_text(doc.subtitle, True)}*", ""]
    for b in doc.blocks:
        if isinstance(b, Heading):
            out += ["#" * min(b.level, 6) + " " + _text(b.text, True), ""]
        elif isinstance(b, Para):
            out += [_text(b.text), ""]
        elif isinstance(b, Equation):
            out += ["$$", equation_tex(b), "$$", ""]
            if b.note:
                out += [f"*({_text(b.note, True)})*", ""]
        elif isinstance(b, Table):
            if b.caption:
                out += [f"*{_text(b.caption, True)}*", ""]
            out.append("| " + " | ".join(_cell(h) for h in b.header) + " |")
            al = [b.column_align(n) for n in range(len(b.header))]
            out.append("|" + "|".join(":---" if a == "l" else "---:" for a in al) + "|")
            out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in b.rows]
            out.append("")
        elif isinstance(b, Figure):
            continue
    return "\n".join(out).rstrip() + "\n"
