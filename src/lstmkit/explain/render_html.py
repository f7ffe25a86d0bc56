"""A self-contained HTML page: inline CSS, equations in MathML, charts as embedded PNG.

Nothing is fetched from the network: no scripts, no fonts, no external images. Browsers with
MathML Core (Chromium 109+, Firefox, Safari) render the equations natively.

For a screen reader: each picture's alt text describes what it shows (the document's
:attr:`~lstmkit.explain.doc.Figure.alt`), not its caption again; a table's title is its
``<caption>``, its column heads ``<th scope="col">`` and each row's first cell ``<th scope="row">``;
a negative number in the math is the minus sign U+2212 before the number, ``<mo>−</mo><mn>2</mn>``.
"""

from __future__ import annotations

import base64
from html import escape

from .doc import Call, Document, Equation, Figure, Heading, Mat, Num, Op, Para, Seq, Sym, Table, Vec

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1180px;
       padding: 16px 24px; color: #1d1d1f; background: #ffffff; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0.2em 0; }
.subtitle { color: #555; margin-bottom: 12px; }
h2 { border-bottom: 2px solid #d0d7de; padding-bottom: 2px; margin-top: 1.6em; font-size: 1.25em; }
h3 { font-size: 1.05em; margin-top: 1.2em; }
.eq { margin: 10px 0 14px 0; overflow-x: auto; text-align: left; }
.eq math[display="block"] { text-align: left; margin-left: 0; }
.eq math { font-size: 1.1em; }
.note { color: #555; font-style: italic; margin: -6px 0 10px 2em; }
table.data { border-collapse: collapse; margin: 6px 0 14px 0; font-variant-numeric: tabular-nums; }
table.data th, table.data td { padding: 2px 10px; border-bottom: 1px solid #e5e5e5; text-align: right; }
table.data th:first-child, table.data td:first-child { text-align: left; }
table.data caption { caption-side: top; text-align: left; font-style: italic; color: #333; padding-top: 10px; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure { margin: 0; }
figure img { display: block; border: 1px solid #e5e5e5; }
figcaption { font-size: 0.85em; color: #555; max-width: 560px; }
"""


def _mi(s: str) -> str:
    return f"<mi>{escape(s)}</mi>"


def _mn(s: str) -> str:
    """A number as MathML: a negative one as the minus sign U+2212 (an operator) before its digits,
    <mo>−</mo><mn>2</mn>, not the hyphen inside <mn>; "?" (unknown) as an identifier."""
    if s.startswith("-") and len(s) > 1:
        return f"<mrow><mo>&#x2212;</mo>{_mn(s[1:])}</mrow>"
    return f"<mi>{escape(s)}</mi>" if s in ("?", "∞") else f"<mn>{escape(s)}</mn>"


def _sub_ml(s: str) -> str:
    return f"<mn>{escape(s)}</mn>" if s.isdigit() else f"<mi>{escape(s)}</mi>"


def math_ml(node) -> str:
    """One math node as MathML (presentation markup, MathML Core)."""
    if isinstance(node, Sym):
        name = node.name
        if " " in name or name.startswith("%"):
            base = f"<mtext>{escape(name)}</mtext>"
        elif node.tilde:
            base = f'<mover accent="true"><mi>{escape(name)}</mi><mo>~</mo></mover>'
        else:
            base = _mi(name.replace("\u0303", "\u0303"))
        if node.sub:
            base = f"<msub>{base}<mrow>{_sub_ml(node.sub)}</mrow></msub>"
        if node.sup:
            base = f"<msup>{base}<mo>{escape(node.sup)}</mo></msup>"
        if node.index:  # h_3[1], y_1[class 0]
            words, _, num = node.index.rpartition(" ")
            inner = (f"<mtext>{escape(words)}&#xA0;</mtext>" if words else "") + _sub_ml(num)
            base = f"<mrow>{base}<mo>[</mo>{inner}<mo>]</mo></mrow>"
        return base
    if isinstance(node, Num):
        return _mn(node.text)
    if isinstance(node, Op):
        return f"<mo>{escape(node.text)}</mo>"
    if isinstance(node, Vec):
        inner = "<mo>,</mo>".join(_mn(i) for i in node.items)
        row = f"<mrow><mo>[</mo>{inner}<mo>]</mo></mrow>"
        return f"<msup>{row}<mo>⊤</mo></msup>" if node.column else row
    if isinstance(node, Mat):
        rows = "".join("<mtr>" + "".join(f"<mtd>{_mn(c)}</mtd>" for c in r) + "</mtr>" for r in node.rows)
        return f'<mrow><mo>[</mo><mtable>{rows}</mtable><mo>]</mo></mrow>'
    if isinstance(node, Call):
        fn = f"<mi>{escape(node.fn)}</mi>" if node.fn else ""
        return f"<mrow>{fn}<mrow><mo>(</mo>{math_ml(node.arg)}<mo>)</mo></mrow></mrow>"
    if isinstance(node, Seq):
        return "<mrow>" + "".join(math_ml(i) for i in node.items) + "</mrow>"
    raise TypeError(f"math_ml: expected a math node, got {type(node).__name__}")


def equation_ml(eq: Equation) -> str:
    rows = []
    for n, r in enumerate(eq.rhs):
        lhs = math_ml(eq.lhs) if n == 0 else ""
        rows.append(f'<mtr><mtd style="text-align:right">{lhs}</mtd><mtd style="text-align:left"><mo>=</mo>{math_ml(r)}</mtd></mtr>')
    return '<math display="block"><mtable>' + "".join(rows) + "</mtable></math>"


def render(doc: Document, figures: dict[str, bytes] | None = None) -> str:
    """The page as one string. ``figures``: Figure.name -> PNG bytes (missing ones are skipped)."""
    figures = figures or {}
    body = [f"<h1>{escape(doc.title)}</h1>"]
    if doc.subtitle:
        body.append(f'<div class="subtitle">{escape(doc.subtitle)}</div>')
    figs = [b for b in doc.blocks if isinstance(b, Figure) and b.name in figures]
    if figs:  # the overview first: pictures at the top of the page
        body.append('<section class="figures" id="pictures">')
        for f in figs:
            data = base64.b64encode(figures[f.name]).decode("ascii")
            # alt: the picture's content in words (build's summary), never the caption again, which
            # a screen reader reads from the figcaption anyway; "" (decorative) where none is given
            body.append(f'<figure id="fig-{escape(f.name)}"><img alt="{escape(f.alt)}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{escape(f.caption)}</figcaption></figure>")
        body.append("</section>")
    for b in doc.blocks:
        if isinstance(b, Heading):
            lvl = min(max(b.level, 2), 4)
            if b.text == "Pictures":
                continue
            body.append(f"<h{lvl}>{escape(b.text)}</h{lvl}>")
        elif isinstance(b, Para):
            body.append(f"<p>{escape(b.text)}</p>")
        elif isinstance(b, Equation):
            body.append(f'<div class="eq">{equation_ml(b)}</div>')
            if b.note:
                body.append(f'<div class="note">({escape(b.note)})</div>')
        elif isinstance(b, Table):  # the title a <caption>, each row's first cell its header
            cap = f"<caption>{escape(b.caption)}</caption>" if b.caption else ""
            head = "".join(f'<th scope="col">{escape(h)}</th>' for h in b.header)
            rows = "".join("<tr>" + "".join(f'<th scope="row">{escape(c)}</th>' if n == 0 else f"<td>{escape(c)}</td>"
                                            for n, c in enumerate(r)) + "</tr>" for r in b.rows)
            body.append(f'<table class="data">{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(doc.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
