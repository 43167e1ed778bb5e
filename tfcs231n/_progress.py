"""Progress output for the training loops: Keras's progress bar where a line can be redrawn,
plain lines otherwise.

Keras's Progbar decides to redraw (carriage returns, backspaces, ANSI codes) from things true
on any POSIX system, so a log file (CI, ``nohup``, ``> run.log``) fills with control
characters. `Progress` asks the stream itself: a terminal or a notebook gets the bar; a file
or pipe gets one plain line per epoch (and, with ``every``, one per ``every`` steps).

Example:
    >>> bar = Progress(100, label="epoch 1/3", stateful_metrics=["loss"])  # doctest: +SKIP
    >>> for i in range(100):
    ...     bar.update(i + 1, [("loss", 0.5)])
"""

import sys
import time


def _in_jupyter_kernel():
    # A running kernel, not merely ipykernel imported (a test process may import it).
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def interactive(stream=None):
    """True where progress can be redrawn in place: a terminal, or a Jupyter kernel."""
    stream = sys.stdout if stream is None else stream
    if _in_jupyter_kernel():
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """A progress display for one epoch of `total` steps.

    Args:
        total: steps in the epoch (>= 1).
        label: printed once before the bar on a terminal, at the start of each plain line
            otherwise (e.g. "epoch 2/10").
        stateful_metrics: names whose latest value is shown; other values are averaged over
            the epoch so far (Keras's Progbar rule).
        every: plain output only: also a line every `every` steps (None: at the end only).
        verbose: False shows nothing.
        stream: where to write (default sys.stdout, looked up at each write).
    """

    def __init__(self, total, label=None, stateful_metrics=(), every=None, verbose=True,
                 stream=None):
        if not isinstance(total, int) or total < 1:
            raise ValueError(f"total must be an integer >= 1, got {total!r}")
        if every is not None and (not isinstance(every, int) or every < 1):
            raise ValueError(f"every must be None or an integer >= 1, got {every!r}")
        self.total, self.label, self.every, self.verbose = total, label, every, verbose
        self.stateful = set(stateful_metrics)
        self._stream = stream
        self._sums, self._counts, self._latest = {}, {}, {}
        self._start = time.monotonic()
        self._bar = None
        if verbose and interactive(self.stream):
            import keras

            if label:
                self._write(f"{label}\n")
            self._bar = keras.utils.Progbar(total, stateful_metrics=list(self.stateful),
                                            interval=0.5)

    @property
    def stream(self):
        return sys.stdout if self._stream is None else self._stream

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()

    def update(self, current, values=(), finalize=False):
        """Steps done so far (1..total) and this step's ``[(name, value), ...]``;
        ``finalize=True`` ends the display early (a run stopped before `total`)."""
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.update(current, list(values), finalize=finalize or None)
            return
        for name, value in values:
            value = float(value)
            self._latest[name] = value
            self._sums[name] = self._sums.get(name, 0.0) + value
            self._counts[name] = self._counts.get(name, 0) + 1
        if finalize or current >= self.total or (self.every and current % self.every == 0):
            self._write(self.line(current) + "\n")

    def line(self, current):
        """The plain line for `current` steps done: label, steps, seconds, values."""
        shown = []
        for name in self._latest:
            value = (self._latest[name] if name in self.stateful
                     else self._sums[name] / self._counts[name])
            shown.append(f"{name} {value:.4g}")
        head = f"{self.label}: " if self.label else ""
        seconds = time.monotonic() - self._start
        return f"{head}{current}/{self.total} steps, {seconds:.0f} s" + "".join(
            f", {s}" for s in shown)
