"""Ctrl-C from inside the kernels, for the tests of what survives it (Trainer.fit, TextGenerator.fit,
lstmkit train and generate): every kernel module's ``lstm_backward`` (the reference's and the
compiled ones) wrapped to raise at its at-th call, as numba gives a KeyboardInterrupt raised while
a kernel runs: a SystemError with the interrupt in its context, which the LSTM turns back into
the interrupt (recurrent._reraise_interrupt)."""

from __future__ import annotations

from typing import Callable


def interrupted() -> None:
    """Raise Ctrl-C as numba gives it from inside a compiled kernel."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        raise SystemError("CPUDispatcher(<function _backward>) returned a result with an exception set")


def backward_raising(monkeypatch, at: int, error: Callable[[], None] = interrupted) -> None:
    """Every kernel module's lstm_backward raises ``error()`` at its ``at``-th call (counted over
    all of them, from 1); the calls before and after run the real kernel."""
    import lstmkit.backends as backends
    import lstmkit.kernels as kernels

    calls = []

    def wrap(lstm_backward):
        def raising(*args):
            calls.append(1)
            if len(calls) == at:
                error()
            return lstm_backward(*args)

        return raising

    for module in {kernels, backends.select("auto")}:  # the reference kernels, and the compiled ones where numba runs
        monkeypatch.setattr(module, "lstm_backward", wrap(module.lstm_backward))
