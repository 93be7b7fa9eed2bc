"""``Feeder``: the one loop that feeds a log's events to a ``RunBuilder``, in file order.

With the compiled scanner (scan.py) a piece's repeated training lines are applied in C and the
rest comes here. A bulk stretch is offered to the builder whole, encoded (render.py), and fed
line by line through lines.py when the builder refuses it or it cannot be encoded — which is
what makes the result the line path's.
"""

from __future__ import annotations

from caffemem.logs.fast import compiled, scan
from caffemem.logs.fast.bulk import TrainBatch
from caffemem.logs.fast.render import render_batch, tail_lines
from caffemem.logs.lines import classify
from caffemem.logs.reader import LineEvents, split_lines
from caffemem.logs.runs import RunBuilder


class Feeder:
    """Feeds pieces of whole lines (``piece``) to ``builder``; ``finish`` returns the number of lines fed."""

    def __init__(self, builder: RunBuilder) -> None:
        self.builder = builder
        self.events = LineEvents()
        self._days: dict[str, int] = {}  # day numbers, remembered by render_batch

    def piece(self, piece: str, bulk: bool = True) -> None:
        """A piece read here; with ``bulk``, its lines through the compiled scanner (scan.py) where
        it is built, and its training stretches offered whole."""
        if bulk and compiled.SCAN is not None:
            scan.feed_piece(piece, self.events, self.builder, self._python)
        else:
            self._python(piece, bulk)

    def _python(self, text: str, bulk: bool = True) -> None:
        self.events.feed_piece(text, bulk, self.builder.feed, self._offer, self.builder.take_unknown)

    def _offer(self, number: int, batch: TrainBatch, text: str) -> None:
        builder = self.builder
        state = builder.render_state()
        rendered = None
        if state is not None and builder.accepts(batch.tids, list(batch.outputs)):
            rendered = render_batch(batch, tail_lines(text, 0, len(text)), state, self._days)
        if rendered is None or not builder.take_rendered(number, rendered):
            feed = builder.feed
            for offset, line in enumerate(split_lines(text)):
                feed(number + offset, classify(line))

    def finish(self) -> int:
        """Close a text block the file ended in; the number of lines read."""
        for number, event in self.events.close_block():
            self.builder.feed(number, event)
        return self.events.number
