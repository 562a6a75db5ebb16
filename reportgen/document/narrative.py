"""Plain-English sentences and alternative text, each generated from a computed comparison.

The words are the layouts' (``wording.yaml``: sections ``messages`` and ``alt``); these functions
choose the text for the case and fill its slots from the data.
"""

from __future__ import annotations

from reportgen.core import formatting as fmt
from reportgen.document.view import Wording


def key_message(wording: Wording, name: str, value_text: str, period: str, phrase: str) -> str:
    """One key message: ``Physically active adults: 70.2% in 2023/24, significantly better than England (67.1%).``

    ``phrase`` is the comparison worded from the layouts (see :meth:`reportgen.document.view.Wording.phrase`).
    """
    return wording.text("messages", "key", name=name, value=value_text, period=period, comparison=phrase)


def trend_message(wording: Wording, name: str, trend: str, first: tuple[str, str], last: tuple[str, str]) -> str:
    """``Employment rate: increasing and getting better, from 70.1% in 2019/20 to 73.7% in 2023/24.`` (no verb
    to agree with plural names such as 'Adults physically active')."""
    return wording.text(
        "messages",
        "trend",
        name=name,
        trend=wording.trend(trend),
        first=first[0],
        first_period=first[1],
        last=last[0],
        last_period=last[1],
    )


def spine_alt(
    wording: Wording,
    name: str,
    area: str,
    value_text: str,
    phrase: str,
    ends: tuple[str, str],
    judged: bool,
    region: tuple[str, str],
) -> str:
    """Alternative text of a spine chart; ``ends`` are the worst (lowest) and best (highest) values and
    ``region`` the region's name (empty: not known) and value."""
    low, high = ends
    ends_text = wording.text("alt", "spine_ends_judged" if judged else "spine_ends_unjudged", low=low, high=high)
    region_name, region_text = region
    region_part = (
        wording.text("alt", "spine_region", region=region_name or wording.text("alt", "region"), value=region_text)
        if region_text != fmt.DASH
        else ""
    )
    return wording.text(
        "alt",
        "spine",
        name=name,
        area=area,
        value=value_text,
        comparison=phrase,
        ends=ends_text,
        region=region_part,
    )


def bar_alt(
    wording: Wording,
    name: str,
    period: str,
    count: int,
    region: str,
    area: tuple[str, str, str],
    england_text: str,
    highest: tuple[str, str],
    lowest: tuple[str, str],
) -> str:
    """Alternative text of a compare-areas chart; ``area`` is the area's name, value and interval."""
    area_name, value_text, ci_text = area
    return wording.text(
        "alt",
        "bar",
        name=name,
        count=count,
        region=region,
        period=period,
        area=area_name,
        value=value_text,
        interval=wording.text("alt", "bar_interval", interval=ci_text) if ci_text else "",
        england=england_text,
        highest=highest[0],
        highest_value=highest[1],
        lowest=lowest[0],
        lowest_value=lowest[1],
    )


def trend_alt(
    wording: Wording,
    name: str,
    area: str,
    first: tuple[str, str],
    last: tuple[str, str],
    england: tuple[str, str],
    trend: str,
) -> str:
    """Alternative text of a trend chart; ``england`` is England's first and last value."""
    return wording.text(
        "alt",
        "trend",
        name=name,
        area=area,
        first=first[0],
        first_period=first[1],
        last=last[0],
        last_period=last[1],
        england_first=england[0],
        england_last=england[1],
        trend=wording.trend(trend),
    )
