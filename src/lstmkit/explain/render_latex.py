"""LaTeX: a standalone article (``pdflatex`` with only the base packages: amsmath) and the math
of the document model as LaTeX (Markdown reuses :func:`math_tex` for its ``$$`` blocks)."""

from __future__ import annotations

import re

from .doc import Call, Document, Equation, Figure, Heading, Mat, Num, Op, Para, Seq, Sym, Table, Vec

_OPS = {"×": r"\times", "*": "*", "·": r"\cdot", "-": "-", "+": "+", "=": "=", ",": ",", "[": "[", "]": "]",
        "⊙": r"\odot", "/": "/"}
_FN = {"σ": r"\sigma", "tanh": r"\tanh", "log": r"\log", "tanh²": r"\tanh^2", "softmax": r"\operatorname{softmax}", "": "", "f": "f", "F": "F"}
_UNI = [("c\u0303", r"\tilde{c}"), ("σ", r"\sigma "), ("Σ", r"\Sigma "), ("∂", r"\partial "), ("²", "^2"),
        ("ᵀ", r"^\top "), ("⊤", r"\top "), ("·", r"\cdot "), ("×", r"\times "), ("→", r"\to "),
        ("⊙", r"\odot "), ("μ", r"\mu "), ("γ", r"\gamma "), ("β", r"\beta "), ("ε", r"\epsilon "), ("α", r"\alpha "),
        ("±", r"\pm ")]


def _uni_math(s: str) -> str:
    for a, b in _UNI:
        s = s.replace(a, b)
    return s


def _percent(s: str) -> str:
    """``s`` with each % as \\%: % starts a comment in LaTeX (and in KaTeX/MathJax); 95.3% is a number."""
    return s.replace("%", r"\%")


def _name_tex(name: str) -> str:
    if " " in name or name.startswith("%") or (len(name) > 6 and name.isalpha()):
        return r"\text{" + tex_escape(name) + "}"
    if "/" in name:  # ∂L_3/∂h: each side its own subscript
        return "/".join(_name_tex(part) for part in name.split("/"))
    s = _percent(_uni_math(name))
    if "_" in s:  # dz_i -> {dz_{i}}: the group keeps a later subscript legal
        head, tail = s.split("_", 1)
        s = "{" + head + "_{" + tail + "}}"
    return s


def math_tex(node) -> str:
    """One math node as LaTeX (math mode)."""
    if isinstance(node, Sym):
        base = r"\tilde{" + node.name + "}" if node.tilde else _name_tex(node.name)
        if node.sub:
            base += "_{" + _uni_math(node.sub) + "}"
        if node.sup:
            base += "^{" + _uni_math(node.sup) + "}"
        if node.index:  # h_{3}[1], y_{1}[\text{class }0]
            words, _, num = node.index.rpartition(" ")
            base += "[" + (r"\text{" + tex_escape(words) + " }" if words else "") + num + "]"
        return base
    if isinstance(node, Num):
        return _percent(node.text) if node.text != "?" else r"\,?\,"
    if isinstance(node, Op):
        return _OPS.get(node.text, r"\text{" + tex_escape(node.text) + "}")
    if isinstance(node, Vec):
        items = [_percent(i) for i in node.items]
        return "[" + ", ".join(items) + "]" + (r"^\top" if node.column else "")
    if isinstance(node, Mat):
        rows = (" & ".join(_percent(e) for e in r) for r in node.rows)
        return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"
    if isinstance(node, Call):
        fn = _FN.get(node.fn) or r"\operatorname{" + node.fn.replace("_", r"\_") + "}"  # clip, mean, hard_sigmoid
        return (fn if node.fn else "") + r"\left(" + math_tex(node.arg) + r"\right)"
    if isinstance(node, Seq):
        return " ".join(math_tex(i) for i in node.items)
    raise TypeError(f"math_tex: expected a math node, got {type(node).__name__}")


def equation_tex(eq: Equation) -> str:
    """``\\begin{aligned} lhs &= r_0 \\\\ &= r_1 … \\end{aligned}``."""
    lines = []
    for n, r in enumerate(eq.rhs):
        lhs = math_tex(eq.lhs) if n == 0 else ""
        lines.append(f"{{}}{lhs} &= {math_tex(r)}")
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


_ESC = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


#: what a braced or parenthesized subscript in running text may hold to be set as math: letters,
#: digits, ``,+-`` and spaces, at most 12 (t-1, t - 1, k,h). The text comes from files (a worked
#: example's title, labels and notes, a model's class names): anything else, a backslash above all
#: (``x_{\input /etc/passwd}`` would make pdflatex read the file), stays text, escaped
SAFE_SUBSCRIPT = r"[A-Za-z0-9,+\- ]{1,12}"
#: a symbol with a subscript in running text: x_2, h_{t-1}, c_(t-1), c~_t, W_ii, W_k,h, n_x,i (a base of
#: one or two letters not inside a word, a subscript of up to three letters or digits, or two of them
#: joined by a comma, or :data:`SAFE_SUBSCRIPT` braced or in parentheses; not dh_next or y_scale,
#: which are names)
_SUBSCRIPTED = re.compile(r"(?<![\w\\])([A-Za-zΣμγβσ]{1,2})(~|\u0303)?_(\{" + SAFE_SUBSCRIPT + r"\}|\(" + SAFE_SUBSCRIPT
                          + r"\)|[A-Za-z0-9]{1,3}(?:,[A-Za-z0-9]{1,3})?(?![\w]))")


def _text_math(m: re.Match) -> str:
    base, tilde, sub = _uni_math(m.group(1)).strip(), m.group(2), m.group(3)
    sub = sub[1:-1] if sub[0] in "{(" else sub
    return "$" + (r"\tilde{" + base + "}" if tilde else base) + "_{" + sub + "}$"


def _escape_plain(s: str) -> str:
    out = "".join(_ESC.get(ch, ch) for ch in s)
    for a, b in _UNI:
        out = out.replace(a, "$" + b.strip() + "$")
    return re.sub(r"[^\t\n\x20-\x7e]", "?", out)  # nothing pdflatex's base fonts cannot set, no control character


def tex_escape(s: str) -> str:
    """Plain text for LaTeX: special characters escaped, Greek and math symbols as inline math, and
    a subscripted symbol (x_2, h_{t-1}) as math: $x_{2}$, not the literal x\\_2. Only a subscript of
    :data:`SAFE_SUBSCRIPT` becomes math; any other (``x_{\\input f}``) is text, escaped like the rest:
    the text may come from a file, and nothing of it reaches the LaTeX source as a command.
    Control characters (but tab and newline) become ``?``, as any character pdflatex's base fonts
    cannot set."""
    out, at = [], 0
    for m in _SUBSCRIPTED.finditer(s):
        out += [_escape_plain(s[at:m.start()]), _text_math(m)]
        at = m.end()
    return "".join(out) + _escape_plain(s[at:])


def render(doc: Document) -> str:
    """A standalone LaTeX article; compiles with ``pdflatex`` and the base distribution only."""
    out = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[fleqn]{amsmath}",  # every equation from one left margin, as the other formats show them
        r"\setlength{\textwidth}{17cm}\setlength{\oddsidemargin}{-0.5cm}\setlength{\evensidemargin}{-0.5cm}",
        r"\setlength{\textheight}{24cm}\setlength{\topmargin}{-1.5cm}",
        r"\setlength{\parindent}{0pt}\setlength{\parskip}{4pt}",
        r"\allowdisplaybreaks",
        r"\title{" + tex_escape(doc.title) + "}",
        r"\author{}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
    ]
    if doc.subtitle:  # a paragraph, which wraps (\author sets one line, past the page's edge)
        out.append(r"\begin{center}" + tex_escape(doc.subtitle) + r"\end{center}" + "\n")
    for b in doc.blocks:
        if isinstance(b, Heading):
            cmd = {1: "section", 2: "section", 3: "subsection"}.get(b.level, "subsubsection")
            out.append(f"\\{cmd}*{{{tex_escape(b.text)}}}")
        elif isinstance(b, Para):
            out.append(tex_escape(b.text) + "\n")
        elif isinstance(b, Equation):
            out.append("\\[\n" + equation_tex(b) + "\n\\]")
            if b.note:
                out.append(r"\emph{(" + tex_escape(b.note) + ")}" + "\n")
        elif isinstance(b, Table):
            cols = "".join(b.column_align(n) for n in range(len(b.header)))
            rows = [" & ".join(tex_escape(c) for c in b.header) + r" \\ \hline"]
            # "{}" first: a row starting with "[" would be read as the optional argument of \\
            rows += ["{}" + " & ".join(tex_escape(c) for c in r) + r" \\" for r in b.rows]
            cap = (r"\emph{" + tex_escape(b.caption) + "}\n\n") if b.caption else ""
            out.append(cap + "\\begin{tabular}{" + cols + "}\n" + "\n".join(rows) + "\n\\end{tabular}\n")
        elif isinstance(b, Figure):
            continue
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"
