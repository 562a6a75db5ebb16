"""How full each page of a laid-out profile is, and whether a heading is the last thing on a page.

Two measures of the same thing, both used by ``tests/test_page_fill.py``:

* :func:`layout_fills` reads WeasyPrint's layout (``weasyprint.HTML(...).render().pages``): exact,
  and it costs no PDF writing, so the test can lay out all 153 authorities;
* :func:`pdf_fills` reads a written PDF with pypdfium2 (the bounds of every page object), so the
  layout measure is checked against what a reader of the PDF sees.

The fill of a page is the lowest painted thing inside the text area (the page's content box,
between the running header and footer: the ``@page`` margins) less the top of the text area, over
the text area's height. Painted things are text, images and boxes with a border or a background.
These helpers are for tests only: the build keeps pages full by its stylesheet (layouts/static/
profile.css), and this is how the tests hold it to that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

MM = 96 / 25.4  # CSS pixels per millimetre
PT_PER_MM = 72 / 25.4
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
MINIMUM_FILL = 0.70


@dataclass(frozen=True)
class PageFill:
    """One page: its number (from 1), the fraction of its text area used, and a stranded heading."""

    number: int
    fill: float
    last_heading: str | None = None  # the text of a heading that is the last thing on the page


def _painted(box: Any) -> bool:
    name = type(box).__name__
    if name in ("TextBox", "InlineReplacedBox", "BlockReplacedBox"):
        return True
    style = box.style
    if any(box.__dict__.get(f"border_{side}_width") for side in ("top", "right", "bottom", "left")):
        return True
    colour = style["background_color"]
    return bool(colour is not None and getattr(colour, "alpha", 0) > 0)


def _walk(box: Any, heading: Any = None) -> Iterator[tuple[Any, Any]]:
    """Every box under ``box`` in document order, with the heading element it is inside (or None)."""
    if type(box).__name__ == "MarginBox":  # the running header and footer
        return
    element = getattr(box, "element", None)
    if heading is None and element is not None and getattr(box, "element_tag", None) in HEADINGS:
        heading = element
    yield box, heading
    for child in box.all_children():
        yield from _walk(child, heading)


def _bottom(box: Any) -> float:
    if type(box).__name__ == "TextBox":
        return box.position_y + box.height
    return box.border_box_y() + box.border_height()


def layout_fills(pages: Sequence[Any]) -> list[PageFill]:
    """The fill of each page of a WeasyPrint document (``document.pages``) and its stranded heading."""
    fills = []
    for number, page in enumerate(pages, start=1):
        page_box = page._page_box
        top, height = page_box.content_box_y(), page_box.height
        lowest, last_heading = top, None
        for box, heading in _walk(page_box):
            if box is page_box or box.element_tag in ("html", "body") or not _painted(box):
                continue
            lowest = max(lowest, _bottom(box))
            last_heading = heading  # the heading (if any) around the last painted box in document order
        text = " ".join(last_heading.itertext()).split() if last_heading is not None else None
        fills.append(PageFill(number, (lowest - top) / height, " ".join(text) if text is not None else None))
    return fills


def pdf_fills(pdf: bytes, margin_top_mm: float, margin_bottom_mm: float) -> list[float]:
    """The fill of each page of a PDF: the lowest page object inside the text area (pypdfium2)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        fills = []
        for page in document:
            height = page.get_height()
            top = height - margin_top_mm * PT_PER_MM  # PDF y grows upwards
            bottom = margin_bottom_mm * PT_PER_MM
            lowest = top
            for obj in page.get_objects(max_depth=1):
                _left, low, _right, high = obj.get_bounds()
                if high <= bottom + 0.5 or low >= top - 0.5:  # the running header or footer
                    continue
                lowest = min(lowest, max(low, bottom))
            fills.append((top - lowest) / (top - bottom))
            page.close()
        return fills
    finally:
        document.close()


def page_problems(name: str, fills: Sequence[PageFill], minimum: float = MINIMUM_FILL) -> list[str]:
    """Messages naming the document and page: a page (not the last) under ``minimum`` full, a stranded heading."""
    problems = []
    for page in fills[:-1]:
        if page.fill < minimum:
            problems.append(f"{name}: page {page.number} of {len(fills)} is {page.fill:.0%} full")
    for page in fills:
        if page.last_heading is not None:
            problems.append(f"{name}: page {page.number} ends with the heading {page.last_heading!r}")
    return problems
