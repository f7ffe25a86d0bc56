"""Training progress: a live bar with loss, metric and ETA on a terminal, plain lines otherwise.

``make_progress(verbose, stream)`` returns an object with ``start_epoch(epoch, epochs, steps)``,
``update(logs)`` after each of the epoch's ``steps`` updates (each batch; each chunk of a batch with
truncated BPTT), ``update(logs, advance=n)`` for n steps at once (chunks not run: every sequence
of the batch had ended), and ``end_epoch(logs)`` after each epoch.

    verbose 0   nothing
    verbose 1   a rich progress bar when ``stream`` is a terminal and rich is installed;
                otherwise (a file, a pipe, CI) one plain line per epoch
    verbose 2   one plain line per epoch, always

rich is imported here, inside the function that uses it, never by the engine.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Mapping, TextIO


def format_logs(logs: Mapping[str, Any], skip=("epoch", "time")) -> str:
    """'loss 0.1234 - accuracy 0.9800 - val_loss ...' from an epoch's logs."""
    parts = []
    for k, v in logs.items():
        if k in skip:
            continue
        parts.append(f"{k} {v:.4g}" if k == "lr" else f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}")
    return " - ".join(parts)


class Silent:
    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        pass

    def update(self, logs: Mapping[str, Any], advance: int = 1) -> None:
        pass

    def end_epoch(self, logs: Mapping[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


def eta(times: list[float], remaining: int) -> float | None:
    """Seconds left for ``remaining`` epochs after those that took ``times`` (this run's, in order),
    or None while there is nothing to go on. The first epoch of a run is left out once there are
    others: it includes the first forward of the process, where numba compiles the kernels or loads
    them from its cache (again on a resume), which can outlast the whole run, so an ETA drawn from
    it alone was far off (a 3-second run of 100 epochs announced 'ETA 199.6s'). After the first
    epoch alone: None (shown 'ETA ...'), unless no epoch remains."""
    if remaining <= 0:
        return 0.0
    if len(times) < 2:
        return None
    later = times[1:]
    return sum(later) / len(later) * remaining


class PlainLines(Silent):
    """One line per epoch: 'epoch 3/10 - loss ... - 0.4s - ETA 2.8s' ('ETA ...' after a run's first
    epoch: see :func:`eta`). ``clock``: seconds, ``time.perf_counter`` (a test's fake clock)."""

    def __init__(self, stream: TextIO, clock=time.perf_counter) -> None:
        self.stream, self.clock = stream, clock
        self.times: list[float] = []

    def start_epoch(self, epoch, epochs, steps):
        self.epoch, self.epochs, self.t0 = epoch, epochs, self.clock()

    def end_epoch(self, logs):
        dt = self.clock() - self.t0
        self.times.append(dt)
        left = eta(self.times, self.epochs - self.epoch - 1)
        shown = "..." if left is None else f"{left:.1f}s"
        print(f"epoch {self.epoch + 1}/{self.epochs} - {format_logs(logs)} - {dt:.2f}s - ETA {shown}", file=self.stream, flush=True)


class RichBar(Silent):
    """A rich progress bar for the current epoch, with the running loss/metric and ETA; each finished
    epoch's row is printed above it and stays in the scrollback, one line per epoch.

    One row is live at a time: a finished epoch's task is printed (``console.print``) and removed. A
    live region holding every epoch so far was redrawn whole at each refresh (about 10 a second), so
    a run's cost grew as epochs² (a 300-epoch ``lstmkit train`` on a pseudo-terminal took 45.9 to
    74.6 s, 3.5 s with one row; 1.6 to 2.4 s with plain lines)."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[logs]}"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self.progress.start()
        self.task = None

    def start_epoch(self, epoch, epochs, steps):
        label = f"{epoch + 1}/{epochs}".ljust(2 * len(str(epochs)) + 1)  # each row printed alone: the bars aligned
        self.task = self.progress.add_task("", total=steps, epoch=label, logs="")

    def update(self, logs, advance=1):
        self.progress.update(self.task, advance=advance, logs=format_logs(logs))

    def end_epoch(self, logs):
        """The epoch's row, with its final logs, printed above the live region; its task removed."""
        self.progress.update(self.task, logs=format_logs(logs))
        task = next(t for t in self.progress.tasks if t.id == self.task)
        self.progress.console.print(self.progress.make_tasks_table([task]))
        self.progress.remove_task(self.task)
        self.task = None

    def close(self):
        self.progress.stop()


def make_progress(verbose: int, stream: TextIO | None = None):
    """The reporter for ``verbose`` (see the module docstring)."""
    stream = sys.stdout if stream is None else stream
    if not verbose:
        return Silent()
    if verbose == 1 and getattr(stream, "isatty", lambda: False)():
        try:
            return RichBar(stream)
        except ImportError:
            pass
    return PlainLines(stream)
