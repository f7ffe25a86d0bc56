"""Explain, check and exercise: every LSTM computation shown step by step, as the seed decks do.

- :mod:`.worked`  the worked-example TOML file (weights in either seed notation, inputs, claims)
- :mod:`.trace`   every number of every step, exact (from the engine) or hand-rounded; BPTT
- :mod:`.build`   a trace as a format-neutral document, in the steps / table / memory form
- :mod:`.render_text`, :mod:`.render_md`, :mod:`.render_latex`, :mod:`.render_html`  the formats
- :mod:`.plots`   gate heatmaps and c_t / h_t traces (matplotlib, imported when used)
- :mod:`.check`   claimed numbers against the computation, exact and by hand
- :mod:`.exercise` fresh exercises and their answer keys

Only NumPy is imported at package level; rich and matplotlib are imported by the functions that
draw. ``explain(example, fmt=...)`` is the one-call entry point.
"""

from __future__ import annotations

from .check import CheckReport, Finding, check
from .trace import backward, forward, hand_round
from .worked import Claim, WorkedExample, from_dict, load, require_example

FORMATS = ("text", "md", "latex", "html")


def explain(
    ex: WorkedExample,
    fmt: str = "text",
    form: str = "steps",
    decimals: int | None = None,
    digits: int = 3,
    grad: bool = False,
    loss: str | None = None,
    width: int = 100,
    color: bool = False,
    encoding: str | None = None,
) -> str:
    """Explain ``ex`` in ``fmt`` ("text", "md", "latex", "html") and ``form`` ("steps", "table", "memory").

    ``decimals``: hand mode, every intermediate rounded to that many decimals and carried forward
    (None: exact numbers shown with ``digits`` decimals). ``grad``: add BPTT for ``loss``, by hand
    as well when ``decimals`` is given.
    ``width`` and ``color`` apply to the terminal text.
    ``encoding``: the output's, where it cannot hold every symbol (ASCII, Latin-1, cp1252:
    :func:`.render_text.encodes_symbols`): what it cannot encode is spelled in ASCII
    (:data:`.render_text.ASCII`, ``σ`` as ``sigma``; another character as its backslash escape). The
    text is laid out as spelled, so that its matrices and tables stay aligned; the other formats are
    spelled after (:func:`.render_text.spell`). None (or UTF-8): the text as it is.
    """
    from .._checks import fail
    from . import build

    require_example(ex, "explain")
    if fmt not in FORMATS:
        fail("explain", "fmt", f"one of {list(FORMATS)}", repr(fmt))
    if form not in build.FORMS:
        fail("explain", "form", f"one of {list(build.FORMS)}", repr(form))
    fw = forward(ex, decimals)
    bw = backward(ex, loss, decimals) if grad else None  # by hand too when decimals
    doc = build.document(fw, form=form, digits=digits, bw=bw, figures=fmt == "html")
    from .render_text import spell

    if fmt == "text":
        from .render_text import render

        return render(doc, width, color, encoding)
    if fmt == "md":
        from .render_md import render

        return spell(render(doc), encoding)
    if fmt == "latex":
        from .render_latex import render

        return spell(render(doc), encoding)
    from . import plots
    from .render_html import render

    return spell(render(doc, {"heatmaps": plots.heatmaps_png(fw), "traces": plots.traces_png(fw)}), encoding)


__all__ = ["explain", "check", "CheckReport", "Finding", "forward", "backward", "hand_round", "load", "from_dict",
           "Claim", "WorkedExample", "FORMATS"]
