"""Boxes of text, rules, frames and barcodes laid out top to bottom in a region of a label, as
data that can be drawn and checked (used by :mod:`doseprep.documents.label_layout`).

A :class:`Column` is given a width and a :class:`Metrics` — how wide a text is and how tall its
line, how wide a barcode, in points — and places each item below the last: a text first shrinks
from its size to its style's floor to stay on one line, then wraps at the floor (a word longer
than a whole line breaks between characters), so nothing is ever cut. What cannot fit across
even so (a barcode wider than the quadrant with its quiet zones, one character wider than the
line) raises :class:`DoesNotFitError` with the width it would need.

Lengths are in points (1/72 inch), x to the right and y downwards from the region's top-left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from reportlab.lib.units import mm

#: The frames' line (recipient, check character, the box where no barcode is).
FRAME_WIDTH = 1.2
#: Code 128: the X dimension ISBT 128 asks for (0.17 mm to 0.25 mm) and the bars' height; a
#: quiet zone of 10 X on each side of the bars stays clear.
MODULE = 0.25 * mm
BAR_HEIGHT = 8 * mm
QUIET_MODULES = 10


@dataclass(frozen=True)
class Rect:
    """A rectangle: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def holds(self, other: Rect, slack: float = 0.01) -> bool:
        return (other.x >= self.x - slack and other.y >= self.y - slack
                and other.right <= self.right + slack and other.bottom <= self.bottom + slack)

    def meets(self, other: Rect) -> bool:
        return (self.x < other.right and other.x < self.right
                and self.y < other.bottom and other.y < self.bottom)

    def moved(self, dx: float, dy: float) -> Rect:
        return replace(self, x=self.x + dx, y=self.y + dy)


@dataclass(frozen=True)
class Run:
    """One line of text as drawn: its region, font, size and the box its glyphs occupy."""

    region: str
    text: str
    font: str
    size: float
    x: float
    y: float  # top of the glyph box
    w: float
    h: float

    @property
    def rect(self) -> Rect:
        return Rect(self.x, self.y, self.w, self.h)


@dataclass(frozen=True)
class Barcode:
    """A Code 128 symbol: ``rect`` holds the bars and both quiet zones."""

    region: str
    data: str
    rect: Rect
    module: float

    @property
    def bars(self) -> Rect:
        quiet = QUIET_MODULES * self.module
        return Rect(self.rect.x + quiet, self.rect.y, self.rect.w - 2 * quiet, self.rect.h)


@dataclass(frozen=True)
class Frame:
    """A box drawn around text (the intended recipient, the check character, a REPRINT)."""

    region: str
    rect: Rect
    line_width: float


@dataclass(frozen=True)
class Layout:
    """Everything drawn on one label, with the regions each part must stay inside."""

    width: float
    height: float
    regions: tuple[tuple[str, Rect], ...]
    rules: tuple[Rect, ...]  # each rule as the thin rectangle its stroke covers
    frames: tuple[Frame, ...]
    runs: tuple[Run, ...]
    barcodes: tuple[Barcode, ...]

    def region(self, name: str) -> Rect:
        return dict(self.regions)[name]


class Metrics(Protocol):
    """How one writer measures: text widths, line boxes and barcode widths, in points."""

    def width(self, text: str, font: str, size: float) -> float: ...

    def line(self, font: str, size: float) -> tuple[float, float]:
        """The height of a line's glyph box, and the distance from one line's top to the
        next's."""
        ...

    def barcode(self, data: str) -> tuple[float, float]:
        """The module width and the symbol's width with both quiet zones."""
        ...


@dataclass(frozen=True)
class Style:
    """A text style: font, preferred size, and the smallest size it may shrink to."""

    font: str
    size: float
    floor: float | None = None

    def sizes(self) -> Iterator[float]:
        size, floor = self.size, self.floor or self.size
        while size > floor + 1e-9:
            yield size
            size = round(size - 0.25, 2)
        yield floor


class DoesNotFitError(Exception):
    """Internal: a part of the label cannot fit across its region (raised while measuring)."""

    def __init__(self, message: str, needs: float) -> None:
        super().__init__(message)
        self.message = message
        self.needs = needs  # the width (points) the region would need


def mm_text(points: float) -> str:
    return f"{points / mm:.1f} mm"


@dataclass
class Column:
    """Lays items out top to bottom in a region of a given width, from y = 0."""

    metrics: Metrics
    region: str
    width: float
    y: float = 0.0
    runs: list[Run] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    barcodes: list[Barcode] = field(default_factory=list)

    def gap(self, points: float) -> None:
        self.y += points

    def text(self, text: str, style: Style, what: str,
             align: Literal["left", "right"] = "left") -> None:
        if not text:
            return
        size, lines = self._fit(text, style, what)
        height, pitch = self.metrics.line(style.font, size)
        for number, line in enumerate(lines):
            if number:
                self.y += pitch - height
            w = self.metrics.width(line, style.font, size)
            x = self.width - w if align == "right" else 0.0
            self.runs.append(Run(self.region, line, style.font, size, x, self.y, w, height))
            self.y += height
        self.y += pitch - height

    def pair(self, left: str, left_style: Style, right: str, right_style: Style,
             what: str) -> None:
        """``left`` and ``right`` (right-aligned) on one line, their feet level, when both fit at
        their sizes (``right`` shrunk as far as its floor); else ``right`` below ``left``."""
        left_w = self.metrics.width(left, left_style.font, left_style.size)
        for size in right_style.sizes():
            right_w = self.metrics.width(right, right_style.font, size)
            if left_w + 3 * mm + right_w > self.width:
                continue
            left_h, left_pitch = self.metrics.line(left_style.font, left_style.size)
            right_h, right_pitch = self.metrics.line(right_style.font, size)
            tall = max(left_h, right_h)
            self.runs.append(Run(self.region, left, left_style.font, left_style.size, 0,
                                 self.y + tall - left_h, left_w, left_h))
            self.runs.append(Run(self.region, right, right_style.font, size,
                                 self.width - right_w, self.y + tall - right_h, right_w, right_h))
            self.y += tall + max(left_pitch - left_h, right_pitch - right_h)
            return
        self.text(left, left_style, what)
        self.text(right, right_style, what)

    def barcode(self, data: str, what: str) -> None:
        module, width = self.metrics.barcode(data)
        if width > self.width + 1e-6:
            raise DoesNotFitError(f"the {what} barcode needs {mm_text(width)} across with its "
                                  f"quiet zones and its quadrant has {mm_text(self.width)}", width)
        self.barcodes.append(Barcode(self.region, data, Rect(0, self.y, width, BAR_HEIGHT),
                                     module))
        self.y += BAR_HEIGHT

    def framed(self, fill: Callable[[Column], None], pad: float, line_width: float) -> None:
        """A box drawn around what ``fill`` lays out, ``pad`` inside its line."""
        inset = pad + line_width / 2
        inner = Column(self.metrics, self.region, self.width - 2 * inset)
        fill(inner)
        top = self.y
        self.frames.append(Frame(self.region, Rect(line_width / 2, top + line_width / 2,
                                                   self.width - line_width,
                                                   inner.y + 2 * pad), line_width))
        self._take(inner, inset, top + inset)
        self.y = top + inner.y + 2 * inset

    def din_line(self, din: str, flags: str, check: str, font: str) -> None:
        """The DIN's eye-readable form, its flags raised and small, and the keyboard-entry check
        character in a box, on one line: shrunk as far as 7 pt, never wrapped."""
        pad = 0.7 * mm
        for size in Style(font, 10.5, 7).sizes():
            small = round(size * 0.62, 2)
            w_din = self.metrics.width(din, font, size)
            w_flags = self.metrics.width(flags, font, small)
            box = self.metrics.width(check, font, size) + 2 * pad + FRAME_WIDTH
            if w_din + w_flags + box + 2.4 * mm <= self.width:
                break
        else:
            needs = w_din + w_flags + box + 2.4 * mm
            raise DoesNotFitError(f"the DIN with its flags and check character needs "
                                  f"{mm_text(needs)} across and its quadrant has "
                                  f"{mm_text(self.width)}", needs)
        height, _ = self.metrics.line(font, size)
        small_h, _ = self.metrics.line(font, small)
        top = self.y
        inset = pad + FRAME_WIDTH / 2
        self.runs.append(Run(self.region, din, font, size, 0, top + inset, w_din, height))
        x = w_din + 1.2 * mm
        self.runs.append(Run(self.region, flags, font, small, x, top + inset, w_flags, small_h))
        x += w_flags + 1.2 * mm
        w_check = self.metrics.width(check, font, size)
        self.frames.append(Frame(self.region, Rect(x + FRAME_WIDTH / 2, top + FRAME_WIDTH / 2,
                                                   box - FRAME_WIDTH, height + 2 * pad),
                                 FRAME_WIDTH))
        self.runs.append(Run(self.region, check, font, size, x + (box - w_check) / 2,
                             top + inset, w_check, height))
        self.y = top + height + 2 * inset + 0.6 * mm

    def _take(self, other: Column, dx: float, dy: float) -> None:
        self.runs += [replace(r, x=r.x + dx, y=r.y + dy) for r in other.runs]
        self.frames += [replace(f, rect=f.rect.moved(dx, dy)) for f in other.frames]
        self.barcodes += [replace(b, rect=b.rect.moved(dx, dy)) for b in other.barcodes]

    def _fit(self, text: str, style: Style, what: str) -> tuple[float, list[str]]:
        for size in style.sizes():
            if self.metrics.width(text, style.font, size) <= self.width:
                return size, [text]
        size = style.floor or style.size
        return size, self._wrap(text, style.font, size, what)

    def _wrap(self, text: str, font: str, size: float, what: str) -> list[str]:
        def fits(candidate: str) -> bool:
            return self.metrics.width(candidate, font, size) <= self.width

        lines: list[str] = []
        current = ""
        for word in text.split(" "):  # a no-break space holds its neighbours together
            if not word:
                continue
            candidate = f"{current} {word}" if current else word
            if fits(candidate):
                current = candidate
                continue
            if current:
                lines.append(current)
            current = ""
            while not fits(word):  # longer than a whole line: break between characters
                if not fits(word[:1]):
                    needs = self.metrics.width(word[:1], font, size)
                    raise DoesNotFitError(f"one character of the {what} needs {mm_text(needs)} "
                                          f"across and its region has {mm_text(self.width)}",
                                          needs)
                cut = 1
                while fits(word[:cut + 1]):
                    cut += 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        if current:
            lines.append(current)
        return lines
