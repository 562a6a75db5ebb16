"""Plain-English sentences and alternative text, each generated from a computed comparison."""

from __future__ import annotations

from reportgen.core import formatting as fmt

TREND_WORDS = {
    "Increasing and getting better": "has been increasing and getting better",
    "Decreasing and getting better": "has been decreasing and getting better",
    "Increasing and getting worse": "has been increasing and getting worse",
    "Decreasing and getting worse": "has been decreasing and getting worse",
    "Increasing": "has been increasing",
    "Decreasing": "has been decreasing",
}


def key_message(name: str, value_text: str, period: str, phrase: str) -> str:
    """One key message: ``Physically active adults: 70.2% in 2023/24, significantly better than England (67.1%).``

    ``phrase`` is the comparison worded from the layouts (see :meth:`reportgen.document.view.Wording.phrase`).
    """
    return f"{name}: {value_text} in {period}, {phrase}."


def trend_message(name: str, trend: str, first: tuple[str, str], last: tuple[str, str]) -> str:
    """``Employment rate has been increasing and getting better, from 70.1% in 2019/20 to 73.7% in 2023/24.``"""
    words = TREND_WORDS.get(trend, trend.lower())
    return f"{name} {words}, from {first[0]} in {first[1]} to {last[0]} in {last[1]}."


def spine_alt(
    name: str,
    area: str,
    value_text: str,
    phrase: str,
    low_text: str,
    high_text: str,
    judged: bool,
    region: str,
    region_text: str,
) -> str:
    """Alternative text of a spine chart."""
    ends = f"worst {low_text}, best {high_text}" if judged else f"lowest {low_text}, highest {high_text}"
    parts = [
        f"Spine chart, {name}: {area} {value_text}, {phrase}",
        f"range across authorities: {ends}",
    ]
    if region_text != fmt.DASH:
        parts.append(f"{region} {region_text}")
    return "; ".join(parts) + "."


def bar_alt(
    name: str,
    period: str,
    count: int,
    region: str,
    area: str,
    value_text: str,
    ci_text: str,
    england_text: str,
    highest: tuple[str, str],
    lowest: tuple[str, str],
) -> str:
    """Alternative text of a compare-areas chart."""
    ci = f" (95% CI {ci_text})" if ci_text else ""
    return (
        f"Bar chart: {name} in the {count} authorities of {region}, {period}; {area} {value_text}{ci}, "
        f"England {england_text}; highest {highest[0]} {highest[1]}, lowest {lowest[0]} {lowest[1]}."
    )


def trend_alt(
    name: str,
    area: str,
    first: tuple[str, str],
    last: tuple[str, str],
    england_first: str,
    england_last: str,
    trend: str,
) -> str:
    """Alternative text of a trend chart."""
    return (
        f"Line chart: {name} in {area} and England, {first[1]} to {last[1]}; {area} from {first[0]} to "
        f"{last[0]}, England from {england_first} to {england_last}; recent trend: {trend.lower()}."
    )
