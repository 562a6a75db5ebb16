"""The template context of a profile: every number formatted, every sentence worded from the table.

The words come from the layouts' ``wording.yaml``, the sizes and colours from ``theme.yaml``; this
module chooses which text applies and fills its slots.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from reportgen.core import formatting as fmt
from reportgen.core.changekinds import CHANGE_WHAT
from reportgen.core.geography import Area
from reportgen.core.specs import DOMAINS, IndicatorSpec
from reportgen.document import narrative
from reportgen.document.charts import LocatorMap, PyramidChart, draw_locator_map, draw_pyramid, has_locator_map
from reportgen.document.compose import (
    SYNTHETIC_PREFIX,
    BarPanel,
    IndicatorFacts,
    ProfileInputs,
    ProfilePlan,
    result_of,
    value_of,
    value_text,
)
from reportgen.document.models import BarPanelImage, ChartImage, Theme
from reportgen.document.strengths import SHOWN as SHOWN_STRENGTHS
from reportgen.document.strengths import rank_strengths
from reportgen.document.textwidth import columns, face_widths
from reportgen.document.view import (
    NOT_COMPARED_RESULT,
    RESULTS_BY_KEY,
    SIGNIFICANT_TRENDS,
    BarPanelView,
    BarRowView,
    Comparison,
    ImageView,
    IndicatorView,
    LegendGroup,
    TrendArrow,
    TrendRow,
    TrendText,
    Wording,
    badge,
    comparison,
    css_variables,
    packaged_wording,
)
from reportgen.sources.data import note_text
from reportgen.sources.population import AGE_BANDS, PopulationTable
from reportgen.stats.coverage import RANK_IN_FILE
from reportgen.stats.distribution import OWN_RANGE_NOTE
from reportgen.stats.trend import CANNOT

ENGLAND_AUTHORITIES = 153
JUDGED = ("high_is_good", "low_is_good")

TREND_ARROWS = {"Increasing": "↑", "Decreasing": "↓", "No significant change": "→"}
Images = Mapping[str, ChartImage | BarPanelImage]


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def image(images: Images, key: str) -> ImageView | None:
    """Template data of one drawn chart (a spine or a trend chart): a data: URI, its alternative text and size."""
    chart = images.get(key)
    if not isinstance(chart, ChartImage):
        return None
    return ImageView(svg_data_uri(chart.svg), chart.alt, round(chart.width_mm, 2), round(chart.height_mm, 2))


def profile_context(plan: ProfilePlan, images: Images) -> dict[str, Any]:
    """Everything the templates need, already formatted as text: the document model."""
    inputs = plan.inputs
    wording = inputs.wording
    bars = {b.key: b for b in plan.bars}
    partial = _coverage(plan) is not None
    indicators = [_indicator_view(f, inputs, images, bars, partial) for f in plan.facts]
    domains = [
        {"name": d, "slug": d.lower().replace(" ", "-"), "indicators": [i for i in indicators if i.domain == d]}
        for d in DOMAINS
    ]
    domains = [d for d in domains if d["indicators"]]
    area = inputs.area
    title = wording.text("document", "title")
    return {
        "title": wording.text("document", "full_title", title=title, area=area.name),
        "document_title": title,
        "subject": wording.text("document", "subject", title=title, edition=inputs.edition, area=area.name),
        "keywords": wording.text("document", "keywords", area=area.name, code=area.code),
        "language": "en-GB",
        "area": area,
        "place": area.in_sentence,  # mid-sentence: "the Isles of Scilly"
        "edition": inputs.edition,
        "author": inputs.author,
        "data_date": inputs.data_date.isoformat(),
        "data_date_text": fmt.long_date(inputs.data_date),
        "synthetic": inputs.synthetic,
        "version": inputs.version,
        "theme": inputs.theme,
        "theme_css": css_variables(inputs.theme),
        "wording": wording.sections,
        "region_name": area.region_name or _first_region(plan),
        "population": _population(plan),
        "coverage": _coverage(plan),
        "glance": _glance(plan, indicators),
        "domains": domains,
        "indicators": indicators,
        "legend": _legend(inputs.theme, wording, indicators),
        "worst_header": _extreme_header(inputs.specs, "worst", wording),
        "best_header": _extreme_header(inputs.specs, "best", wording),
        "data_label": inputs.data_label,
        "provenance": inputs.provenance,
        "palette_note": wording.text("palette", "note", palette=inputs.theme.palette.title),
        "licences": sorted({s.licence for s in inputs.specs if s.licence}),
        "changes": _changes(inputs),
    }


#: changes.csv's ``what`` (reportgen.publish.changes) to the wording key of the "What has changed" section.
CHANGE_KEYS = {label: key for key, label in CHANGE_WHAT.items()}
_VALUE_CHANGES = ("period", "comparison", "trend", "revised")


def _changes(inputs: ProfileInputs) -> dict[str, Any] | None:
    """The 'What has changed' section: the earlier edition and one row per indicator with its values.

    ``None`` for a first edition (nothing said about earlier ones); without an earlier edition found
    in the output folder, a sentence saying so (and why, when an earlier folder has no benchmark table).
    """
    changes, wording = inputs.changes, inputs.wording
    if not changes:
        return None
    previous = changes.get("previous_edition")
    if not previous:
        earlier = str(changes.get("earlier_without_table") or "")
        text = (
            wording.text("changes", "no_table", edition=earlier)
            if earlier
            else wording.text("changes", "none_found", edition=str(changes.get("edition") or inputs.edition))
        )
        return {"previous_edition": "", "heading": wording.text("changes", "title"), "message": text, "rows": []}
    previous = str(previous)
    specs = {s.id: s for s in inputs.specs}
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in changes.get("rows", []):
        grouped.setdefault(str(row.get("indicator_id") or row.get("indicator", "")), []).append(row)
    order = {s.id: i for i, s in enumerate(inputs.specs)}
    rows = [
        _change_row(items, specs.get(key), wording)
        for key, items in sorted(grouped.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    ]
    return {
        "previous_edition": previous,
        "heading": wording.text("changes", "heading", edition=previous),
        "message": "" if rows else wording.text("changes", "nothing", edition=previous),
        "caption": wording.text("changes", "caption", edition=previous),
        "columns": [
            wording.text("changes", "column_indicator"),
            wording.text("changes", "column_what"),
            wording.text("changes", "column_before", edition=previous),
            wording.text("changes", "column_after"),
        ],
        "rows": rows,
    }


def _change_row(items: list[Mapping[str, Any]], spec: IndicatorSpec | None, wording: Wording) -> dict[str, str]:
    """One indicator's changes: what changed, and before and after with values, periods and results."""
    keys = [CHANGE_KEYS.get(str(r.get("what", "")), "") for r in items]
    what = "; ".join(
        wording.text("changes", f"what_{k}") if k else str(r.get("what", "")) for k, r in zip(keys, items, strict=True)
    )
    sides = []
    for side in ("before", "after"):
        parts = []
        first = next((r for k, r in zip(keys, items, strict=True) if k in _VALUE_CHANGES), None)
        if first is not None and str(first.get(f"{side}_value", "")):
            value = _change_value(str(first[f"{side}_value"]), spec)
            parts.append(wording.text("changes", "value", value=value, period=str(first.get(f"{side}_period", ""))))
        for k, r in zip(keys, items, strict=True):
            text = str(r.get(side, ""))
            if k == "comparison" and text:
                parts.append(wording.label(comparison(text, spec.polarity if spec else "high_is_good")))
            elif k == "trend" and text:
                trend = wording.trend(text)
                parts.append(trend[:1].upper() + trend[1:])
            elif k not in _VALUE_CHANGES and text:
                parts.append(text)
        sides.append("; ".join(parts) or fmt.DASH)
    name = spec.short_name if spec else str(items[0].get("indicator", ""))
    return {"indicator": name, "what": what[:1].upper() + what[1:], "before": sides[0], "after": sides[1]}


def _change_value(text: str, spec: IndicatorSpec | None) -> str:
    """A value of changes.csv (a plain number) with the indicator's unit and decimals."""
    try:
        number = float(text)
    except ValueError:
        return text
    return fmt.with_unit(number, spec.decimals, spec.unit) if spec else text


def _changes_line(changes: Mapping[str, Any] | None, wording: Wording) -> str:
    """Page 1's line: ``Since the 2024 edition: 3 comparisons with England changed, 2 new data periods.``"""
    if not changes or not changes.get("previous_edition"):
        return ""
    edition = str(changes["previous_edition"])
    keys = [CHANGE_KEYS.get(str(r.get("what", ""))) for r in changes.get("rows", [])]
    order = ("comparison", "period", "trend", "revised", "definition", "added", "retired")
    parts = [_plural(wording, "changes", f"count_{k}", keys.count(k)) for k in order if keys.count(k)]
    if not parts:
        return wording.text("glance", "changes_none", edition=edition)
    return wording.text("glance", "changes_line", edition=edition, changes=", ".join(parts))


def _coverage(plan: ProfilePlan) -> dict[str, Any] | None:
    """When the data cover fewer authorities than England has, how many (ranks and ranges then describe them)."""
    if plan.authorities >= ENGLAND_AUTHORITIES:
        return None
    return {"n": plan.authorities, "total": ENGLAND_AUTHORITIES}


def _first_region(plan: ProfilePlan) -> str:
    for f in plan.facts:
        if f.row is not None and f.row["region_name"]:
            return str(f.row["region_name"])
    return ""


def _population(plan: ProfilePlan) -> str:
    for f in plan.facts:
        if f.spec.provides_population and f.row is not None and not fmt.is_missing(f.row["denominator"]):
            return plan.inputs.wording.text(
                "document", "population", count=fmt.count(f.row["denominator"]), period=f.latest
            )
    return ""


def _extreme_header(specs: Iterable[IndicatorSpec], which: str, wording: Wording) -> str:
    """Heading of the summary's worst (or lowest) and best (or highest) column, by the indicators' polarity."""
    judged = [s.polarity in JUDGED for s in specs]
    keys = {"worst": ("worst", "lowest", "worst_or_lowest"), "best": ("best", "highest", "best_or_highest")}[which]
    key = keys[0] if all(judged) else keys[2] if any(judged) else keys[1]
    return wording.text("summary", key)


# --------------------------------------------------------------------------- one indicator


def _indicator_view(
    f: IndicatorFacts,
    inputs: ProfileInputs,
    images: Images,
    bars: Mapping[str, BarPanel],
    partial: bool = False,
) -> IndicatorView:
    spec, row, theme, wording = f.spec, f.row, inputs.theme, inputs.wording
    has_value = _has_value(row)
    result, region_result = _results(row, spec, has_value)
    trend = str(row["recent_trend"]) if row is not None else CANNOT
    region_name = _region_name(row, inputs.area)
    worst, best = _extremes(row, spec)
    trend_rows = _trend_rows(f, theme, wording)
    return IndicatorView(
        id=spec.id,
        domain=spec.domain,
        result=result,
        region_result=region_result,
        has_value=has_value,
        has_data=bool(len(f.series)),
        name=spec.short_name,
        full_name=spec.name,
        definition=spec.definition,
        rationale=spec.rationale,
        source=spec.source,
        derivation_note=_derivation_note(spec, wording),
        unit=spec.unit or "none",
        caveats=spec.caveats,
        licence=spec.licence,
        value_type=wording.text("value_types", spec.value_type),
        comparison_method=wording.text("comparison_methods", spec.comparison),
        polarity=wording.text("polarities", spec.polarity),
        ci_text=_ci_text(row, wording),
        value_note=_row_note(row),
        period=f.latest or fmt.DASH,
        periods=_periods(f, wording),
        value=value_text(row, "value", spec),
        value_plain=fmt.number(value_of(row, "value"), spec.decimals),
        count=fmt.count(value_of(row, "count")),
        ci=fmt.interval(value_of(row, "lower_ci_95"), value_of(row, "upper_ci_95"), spec.decimals),
        region=fmt.number(value_of(row, "region_value"), spec.decimals),
        region_text=value_text(row, "region_value", spec),
        region_name=region_name,
        region_place=fmt.place(region_name),
        england=fmt.number(value_of(row, "england_value"), spec.decimals),
        england_text=value_text(row, "england_value", spec),
        worst=worst,
        best=best,
        spine_note=_text_of(row, "spine_note"),
        badge=badge(result, theme, wording),
        badge_region=badge(region_result, theme, wording),
        comparison_sentence=_comparison_sentence(row, spec, result, wording) if has_value else "",
        trend=trend,
        trend_arrow=_trend_arrow(trend, theme),
        rank=_rank(row, partial, wording),
        notes=tuple(_notes(f, inputs, has_value)),
        subline=_subline(row, spec, inputs, trend, region_result, partial),
        spine=image(images, f"spine-{spec.id}"),
        trend_chart=image(images, f"trend-{spec.id}"),
        bar_panel=_bar_panel(bars.get(f"bars-{spec.id}"), images.get(f"bars-{spec.id}"), theme, wording),
        trend_rows=trend_rows,
        trend_text=_trend_table(trend_rows, theme, wording),
        bar_title=_bar_title(spec, region_name, f.latest or fmt.DASH, wording),
    )


def _bar_title(spec: IndicatorSpec, region_name: str, period: str, wording: Wording) -> str:
    """The title of a compare-areas chart: its order (best or highest first) and intervals only where shown."""
    judged = spec.polarity in ("high_is_good", "low_is_good")
    order = wording.text("charts", "compare_best_first" if judged else "compare_highest_first")
    intervals = wording.text("charts", "compare_intervals") if spec.comparison.startswith("ci") else ""
    return wording.text(
        "charts",
        "compare_title",
        place=fmt.place(region_name),
        period=period.replace(" ", "\u00a0"),
        order=order,
        intervals=intervals,
    )


#: Fingertips' sex or age of a series that has no such breakdown (a data value, not shown).
NOT_APPLICABLE = "Not applicable"


def _derivation_note(spec: IndicatorSpec, wording: Wording) -> str:
    """How a derived figure was computed, for the definitions page ('' for a published series).

    The source series' sex and age are named only where they say something ("Not applicable" is not).
    """
    if spec.derive is None:
        return ""
    named = (spec.derive.sex, spec.derive.age)
    parts = [p for p in named if p.strip() and p.strip().casefold() != NOT_APPLICABLE.casefold()]
    series = wording.text("definitions", "series", parts=", ".join(parts)) if parts else ""
    return wording.text(
        "definitions", "derived", multiplier=f"{spec.multiplier:g}", source=spec.derive.source_id, series=series
    )


def _has_value(row: pd.Series | None) -> bool:
    return row is not None and not fmt.is_missing(row["value"])


def _results(row: pd.Series | None, spec: IndicatorSpec, has_value: bool) -> tuple[Comparison, Comparison]:
    """The comparisons with England and with the region (Not compared without a value)."""
    if not has_value:
        return NOT_COMPARED_RESULT, NOT_COMPARED_RESULT
    return result_of(row, spec), result_of(row, spec, "compared_to_region")


def _text_of(row: pd.Series | None, column: str) -> str:
    return "" if row is None else str(row[column])


def _row_note(row: pd.Series | None) -> str:
    return _clean_note(row["value_note"]) if row is not None else ""


def _region_name(row: pd.Series | None, area: Area) -> str:
    return str((row["region_name"] if row is not None else "") or area.region_name)


def _periods(f: IndicatorFacts, wording: Wording) -> str:
    if len(f.periods) > 1:
        return wording.text("indicator", "periods", first=f.periods[0], last=f.periods[-1])
    return f.latest or fmt.DASH


def _extremes(row: pd.Series | None, spec: IndicatorSpec) -> tuple[str, str]:
    """The worst (or lowest) and best (or highest) value among authorities, when the spine is shown."""
    if row is None or not bool(row["spine_shown"]):
        return fmt.DASH, fmt.DASH
    worst, best = ("spine_max", "spine_min") if spec.polarity == "low_is_good" else ("spine_min", "spine_max")
    return fmt.number(value_of(row, worst), spec.decimals), fmt.number(value_of(row, best), spec.decimals)


def _comparison_sentence(row: pd.Series | None, spec: IndicatorSpec, result: Comparison, wording: Wording) -> str:
    return wording.phrase(result, wording.england, value_text(row, "england_value", spec))


def _bar_panel(
    panel: BarPanel | None, drawn: ChartImage | BarPanelImage | None, theme: Theme, wording: Wording
) -> BarPanelView | None:
    """A compare-areas chart: its lines of text, the SVG of its marks, and each row's badge (for the legend)."""
    if panel is None or not isinstance(drawn, BarPanelImage):
        return None
    return BarPanelView(
        rows=tuple(BarRowView(badge(r.result, theme, wording), r.highlight) for r in panel.rows),
        lines=drawn.lines,
        src=svg_data_uri(drawn.svg),
        alt=drawn.alt,
        width_mm=round(drawn.width_mm, 2),
        height_mm=round(drawn.height_mm, 2),
        tab_mm=drawn.tab_mm,
        line_mm=drawn.line_mm,
    )


def _subline(
    row: pd.Series | None, spec: IndicatorSpec, inputs: ProfileInputs, trend: str, result: Comparison, partial: bool
) -> str:
    """Region comparison, ranks and trend in one line of text."""
    if row is None or fmt.is_missing(row["value"]):
        return ""
    parts = []
    wording = inputs.wording
    if not fmt.is_missing(row["region_value"]):
        verdict = wording.verdict(result)
        region = fmt.place(row["region_name"]) if row["region_name"] else wording.text("names", "region")
        parts.append(
            wording.text(
                "indicator", "region", region=region, value=value_text(row, "region_value", spec), result=verdict
            )
        )
    if rank := _rank(row, partial, wording):
        first = wording.text("indicator", "rank_first_judged" if spec.polarity in JUDGED else "rank_first_unjudged")
        parts.append(wording.text("indicator", "rank", rank=rank, first=first))
    parts.append(wording.text("indicator", "trend", trend=wording.trend(trend)))
    return " ".join(parts)


def _ci_text(row: pd.Series | None, wording: Wording) -> str:
    """How the confidence intervals of the latest value were obtained."""
    source = "none" if row is None else str(row["ci_source"])
    if row is not None and source in ("data", "computed"):
        return wording.text("intervals", source, method=str(row["ci_method"]))
    return wording.text("intervals", "none")


def _trend_arrow(trend: str, theme: Theme) -> TrendArrow:
    """The summary's trend arrow, coloured when the trend is getting better or worse."""
    direction = next((word for word in TREND_ARROWS if trend.startswith(word)), "")
    if not direction:
        return TrendArrow("", theme.neutrals.ink, trend)
    palette = theme.palette.comparison
    colour = (
        palette["Better"]
        if trend.endswith("better")
        else palette["Worse"]
        if trend.endswith("worse")
        else theme.neutrals.unjudged_arrow
    )
    return TrendArrow(TREND_ARROWS[direction], colour, trend)


def _rank(row: pd.Series | None, partial: bool = False, wording: Wording | None = None) -> str:
    """``3rd of 153 authorities in England and 1st of 12 in the North East`` (empty without a rank).

    ``wording`` defaults to the packaged wording.
    """
    if row is None or fmt.is_missing(row["rank_in_england"]):
        return ""
    words = wording or packaged_wording()
    scope = "in_file" if partial or row.get("rank_scope") == RANK_IN_FILE else "in_england"
    rank = fmt.ordinal(int(row["rank_in_england"]))
    text = words.text("ranks", scope, rank=rank, n=int(row["n_in_england"]))
    if fmt.is_missing(row["rank_in_region"]):
        return text
    return words.text(
        "ranks",
        "with_region",
        england=text,
        rank=fmt.ordinal(int(row["rank_in_region"])),
        n=int(row["n_in_region"]),
        region=fmt.place(row["region_name"]),
    )


def _clean_note(note: object) -> str:
    text = note_text(note)  # HTML in downloaded notes shown as text
    if text.startswith(SYNTHETIC_PREFIX):
        text = text[len(SYNTHETIC_PREFIX) :].lstrip("; ")
    return text[:1].upper() + text[1:]


def _notes(f: IndicatorFacts, inputs: ProfileInputs, has_value: bool) -> list[str]:
    """Notes on missing or incomplete data, each worded from the layouts' ``notes``."""
    wording, row = inputs.wording, f.row
    notes = [_missing_note(f, inputs, has_value)]
    valued = int(f.series["value"].notna().sum()) if len(f.series) else 0
    if valued == 1 and has_value:  # no trend chart (compose._trend_chart): say why
        notes.append(wording.text("notes", "one_period"))
    if row is not None and fmt.is_missing(row["england_value"]):
        notes.append(wording.text("notes", "no_england"))
    if row is not None and has_value and fmt.is_missing(row["region_value"]) and row["area_type"] == "UTLA":
        notes.append(wording.text("notes", "no_region"))
    if row is not None and has_value and _text_of(row, "spine_note") == OWN_RANGE_NOTE:
        notes.append(wording.text("notes", "own_range", area=inputs.area.in_sentence))
    return [n for n in notes if n]


def _missing_note(f: IndicatorFacts, inputs: ProfileInputs, has_value: bool) -> str:
    """Why there is no value: no data for the indicator, none for the area, or none in the latest period."""
    wording, area = inputs.wording, inputs.area.in_sentence
    if not len(f.series) and not f.periods:
        return wording.text("notes", "no_indicator_data", file=inputs.data_label)
    if not len(f.series):
        return wording.text("notes", "no_area_data", area=area)
    if has_value:
        return ""
    if note := _row_note(f.row):
        return wording.text("notes", "no_value_note", area=area, period=f.latest, note=note)
    return wording.text("notes", "no_value", area=area, period=f.latest)


def _trend_rows(f: IndicatorFacts, theme: Theme, wording: Wording) -> tuple[TrendRow, ...]:
    spec = f.spec
    by_period, england = f.by_period, f.england_by_period
    rows = []
    for p in f.periods:
        row = by_period.get(p)
        has_value = value_of(row, "value") is not None
        result = result_of(row, spec) if has_value else NOT_COMPARED_RESULT
        rows.append(
            TrendRow(
                period=p,
                value=fmt.number(value_of(row, "value"), spec.decimals),
                ci=fmt.interval(value_of(row, "lower_ci_95"), value_of(row, "upper_ci_95"), spec.decimals),
                england=fmt.number(value_of(england.get(p), "value"), spec.decimals),
                badge=badge(result, theme, wording),
            )
        )
    return tuple(rows)


TREND_COLUMNS = ("trend_value", "trend_interval", "trend_benchmark")  # wording keys (``charts``)
RESULT_MIN_MM = 14.0  # the narrowest "vs England" column
GLYPH_EM = 1.1  # a result's shape and the space after it, in em


def _trend_table(rows: tuple[TrendRow, ...], theme: Theme, wording: Wording) -> TrendText | None:
    """The trend table's numbers as aligned text, one cell per period, when they fit the column.

    Three cells per period (period, numbers, result) cost far less to lay out than five and read the
    same: the value, interval and England's value right-aligned in tabular figures. ``None`` when
    the numbers would be too wide (very long numbers): the table then keeps its five columns. The
    column is as wide as the trend chart (theme.yaml ``sizes.col_right``).
    """
    sizes = theme.sizes
    size, padding = sizes.small_text_mm, 2 * sizes.data_cell_padding
    body, bold = face_widths(theme.font_files, 400), face_widths(theme.font_files, 600)
    titles = [wording.text("charts", key) for key in TREND_COLUMNS]
    head, lines = columns(titles, [[r.value, r.ci, r.england] for r in rows], [True, True, True], body, bold)
    period_title = wording.text("charts", "trend_period")
    period = max([bold.width(period_title, size)] + [body.width(r.period, size) for r in rows])
    widest = max([bold.width(head, size)] + [body.width(line, size) for line in lines])
    results = max(
        [RESULT_MIN_MM, bold.width(wording.text("charts", "trend_versus"), size)]
        + [body.width(r.badge.label, size) + GLYPH_EM * size for r in rows]
    )  # the results never wrap (one line per period)
    if period + widest + 3 * padding + results > sizes.col_right:
        return None
    return TrendText(head, tuple(lines))


# --------------------------------------------------------------------------- page 1

COUNT_RESULTS = {
    "better": comparison("Better"),
    "similar": comparison("Similar"),
    "worse": comparison("Worse"),
    "not_compared": NOT_COMPARED_RESULT,
}
#: Page 1's count buckets: every indicator is in exactly one, so the counts add up to the catalogue.
#: better, similar and worse always show; the others when they hold an indicator.
GLANCE_BUCKETS = ("better", "similar", "worse", "no_judgement", "quintiles", "not_compared", "no_data")
ALWAYS_COUNTED = ("better", "similar", "worse")
_KIND_BUCKETS = {
    "better": "better",
    "similar": "similar",
    "worse": "worse",
    "higher": "no_judgement",
    "lower": "no_judgement",
    "quintile": "quintiles",
}


def glance_bucket(ind: IndicatorView) -> str:
    """The page-1 count an indicator is in: its comparison with England, or why there is none."""
    if not ind.has_value:
        return "no_data"
    return _KIND_BUCKETS.get(ind.result.kind, "not_compared")


def _glance(plan: ProfilePlan, indicators: list[IndicatorView]) -> dict[str, Any]:
    """Page 1: strengths first (ranked, see strengths.py), the counts, areas to develop and trends."""
    inputs = plan.inputs
    wording = inputs.wording
    place = inputs.area.in_sentence
    buckets = [glance_bucket(ind) for ind in indicators]
    shown = [k for k in GLANCE_BUCKETS if k in ALWAYS_COUNTED or k in buckets]
    develop: list[tuple[tuple[int, int], str]] = []
    trends = []
    for f, ind in zip(plan.facts, indicators, strict=True):
        if not ind.has_value:
            continue
        result = ind.result
        if result.to_develop:
            sentence = narrative.key_message(wording, ind.name, ind.value, ind.period, ind.comparison_sentence)
            develop.append(((0 if result.strong else 1, len(develop)), sentence))
        if message := _trend_sentence(f, ind, wording):
            trends.append(message)
    ranked = rank_strengths(plan.facts, indicators, wording, _coverage(plan) is not None)
    return {
        "by_domain": _domain_counts(indicators, shown),
        "counts": [_count(k, buckets.count(k), inputs.theme, wording) for k in shown],
        "counts_caption": wording.text("glance", "counts_caption", area=inputs.area.in_sentence, total=len(indicators)),
        "counts_note": wording.text(
            "glance",
            "counts_note",
            others="".join(
                wording.text("glance", f"counts_note_{k}", area=place) for k in shown if k not in ALWAYS_COUNTED
            ),
        ),
        "count_labels": {k: _count_label(k, wording) for k in GLANCE_BUCKETS},
        "bucket_keys": shown,
        "total": len(indicators),
        "total_label": wording.text("glance", "count_total"),
        "strengths": [
            {"name": s.name, "text": wording.text("strengths", "item", kind=s.label, detail=s.detail), "kind": s.kind}
            for s in ranked.shown
        ],
        "strengths_fewer": _strengths_fewer(len(ranked.candidates), wording),
        "strengths_more": _plural(wording, "glance", "strengths_more", ranked.more) if ranked.more else "",
        "develop": [s for _, s in sorted(develop)],
        "trends": trends,
        "changes_line": _changes_line(inputs.changes, wording),
    }


def _count(key: str, n: int, theme: Theme, wording: Wording) -> dict[str, Any]:
    """One count of page 1: its badge where it is a comparison result (better, similar, worse), its label."""
    shown_badge = badge(COUNT_RESULTS[key], theme, wording) if key in ALWAYS_COUNTED else None
    return {"key": key, "n": n, "badge": shown_badge, "label": _count_label(key, wording)}


def _count_label(key: str, wording: Wording) -> str:
    if key in COUNT_RESULTS and key != "not_compared":
        return wording.label(COUNT_RESULTS[key])
    return wording.text("glance", f"count_{key}")


def _plural(wording: Wording, section: str, key: str, n: int) -> str:
    return wording.text(section, f"{key}_{'one' if n == 1 else 'many'}", n=n)


def _strengths_fewer(n: int, wording: Wording) -> str:
    """The honest sentence when fewer than three indicators meet a strength test ('' with three or more)."""
    if n >= SHOWN_STRENGTHS:
        return ""
    if n == 0:
        return wording.text("glance", "strengths_none")
    return _plural(wording, "glance", "strengths_fewer", n)


def _domain_counts(indicators: list[IndicatorView], keys: list[str]) -> list[dict[str, Any]]:
    rows = []
    for domain in DOMAINS:
        buckets = [glance_bucket(ind) for ind in indicators if ind.domain == domain]
        if buckets:
            rows.append({"name": domain, "total": len(buckets), **{k: buckets.count(k) for k in keys}})
    return rows


def _trend_sentence(f: IndicatorFacts, ind: IndicatorView, wording: Wording) -> str:
    """Page 1's message of a significant recent trend, from the first of the last five values to the latest."""
    if ind.trend not in SIGNIFICANT_TRENDS:
        return ""
    known = [p for p in f.periods if value_of(f.by_period.get(p), "value") is not None][-5:]
    first = (value_text(f.by_period[known[0]], "value", f.spec), known[0])
    return narrative.trend_message(wording, ind.name, ind.trend, first, (ind.value, ind.period))


# --------------------------------------------------------------------------- the key to the symbols

LEGEND_ORDER = (
    (
        "england",
        ("better_998", "better_95", "better", "similar", "worse", "worse_95", "worse_998", "not_compared"),
    ),
    ("unjudged", ("higher_998", "higher_95", "higher", "similar", "lower", "lower_95", "lower_998", "not_compared")),
    ("quintiles_judged", tuple(f"quintile_judged_{i}" for i in range(1, 6))),
    ("quintiles_unjudged", tuple(f"quintile_unjudged_{i}" for i in range(1, 6))),
)
LEGEND_TITLES = {  # wording keys (``legend``) of each colour set's title
    "england": "england_title",
    "unjudged": "unjudged_title",
    "quintiles_judged": "quintiles_judged_title",
    "quintiles_unjudged": "quintiles_unjudged_title",
}
ALWAYS_IN_LEGEND = ("better", "similar", "worse", "not_compared")
#: Results shared by the significance groups: shown in the England group, and in the no-judgement group
#: only when there is no England group to show them.
SHARED_KEYS = ("similar", "not_compared")


def _legend(theme: Theme, wording: Wording, indicators: list[IndicatorView]) -> list[LegendGroup]:
    """The key to every comparison result that appears in the document (and the basic four), palette-aware:
    one labelled group per colour set."""
    seen = set(ALWAYS_IN_LEGEND)
    for ind in indicators:
        seen.update(_result_keys(ind))
    groups = []
    for kind, keys in LEGEND_ORDER:
        shown = [k for k in keys if k in seen and not (kind == "unjudged" and k in SHARED_KEYS)]
        items = tuple(badge(RESULTS_BY_KEY[k], theme, wording) for k in shown)
        if items:
            groups.append(LegendGroup(wording.text("legend", LEGEND_TITLES[kind]), items, kind))
    return groups


def _result_keys(ind: IndicatorView) -> list[str]:
    """The wording keys of every result an indicator shows: its comparisons, its chart's and its trend table's."""
    panel_rows = ind.bar_panel.rows if ind.bar_panel else ()
    return [
        ind.result.key,
        ind.region_result.key,
        *(r.badge.key for r in panel_rows),
        *(r.badge.key for r in ind.trend_rows),
    ]


# --------------------------------------------------------------------------- the population pyramid


def _percent(value: float) -> str:
    return f"{value:.1f}%"


def pyramid_context(
    population: PopulationTable | None, area: Area, theme: Theme, wording: Wording
) -> dict[str, Any] | None:
    """The About page's population pyramid: the drawn chart, its summary, table and source; None
    when there is no population file or it has no pyramid of the area (the page then says nothing)."""
    if population is None:
        return None
    mine, england = population.of(area.code), population.england
    if mine is None or england is None:
        return None
    w = "population"
    shares = {
        "young": _percent(mine.share(0, 2)),
        "old": _percent(mine.share(13)),
        "england_young": _percent(england.share(0, 2)),
        "england_old": _percent(england.share(13)),
    }
    period = mine.period
    bands = tuple(band.replace("-", "–") for band in AGE_BANDS)
    males, females = wording.text(w, "males"), wording.text(w, "females")
    alt = wording.text(w, "alt", area=area.name, period=period, **shares)
    chart = PyramidChart(
        key=f"pyramid-{area.code}",
        alt=alt,
        bands=bands,
        area=(mine.male, mine.female),
        england=(england.male, england.female),
        headings=(males, females),
        area_name=area.name,
        england_name=wording.text(w, "england"),
        axis_label=wording.text(w, "axis"),
    )
    drawn = draw_pyramid(chart, theme)
    rows = [
        {
            "band": band,
            "values": [f"{v:.1f}" for v in (mine.male[i], mine.female[i], england.male[i], england.female[i])],
        }
        for i, band in reversed(list(enumerate(bands)))
    ]
    return {
        "title": wording.text(w, "title"),
        "summary": wording.text(w, "summary", period=period, place=area.in_sentence, **shares),
        "caption": wording.text(w, "caption", area=area.name, period=period),
        "image": ImageView(svg_data_uri(drawn.svg), drawn.alt, round(drawn.width_mm, 2), round(drawn.height_mm, 2)),
        "table_caption": wording.text(w, "table_caption", area=area.name, period=period),
        "groups": [area.name, wording.text(w, "england")],
        "columns": [wording.text(w, "age"), males, females, males, females],
        "rows": rows,
        "source": wording.text(w, "source_synthetic" if population.synthetic else "source", period=period),
        "twin_title": wording.text(w, "twin_title", area=area.name),
        "synthetic": population.synthetic,
    }


# --------------------------------------------------------------------------- the locator map (page 1)
def locator_map_context(area: Area, theme: Theme, wording: Wording) -> dict[str, Any] | None:
    """Page 1's locator map: England, the area's region outlined and the area filled; its alternative
    text, the title of its web version and the map data's attribution (About page). None for an area
    that is not a current authority (it has no boundary to draw)."""
    if not area.region_code or not has_locator_map(area.code):
        return None
    w = "map"
    region = area.region_name or area.region_code
    alt = wording.text(w, "alt", area=area.name, region=region)
    drawn = draw_locator_map(LocatorMap(f"map-{area.code}", alt, area.code, area.region_code), theme)
    return {
        "image": ImageView(svg_data_uri(drawn.svg), drawn.alt, round(drawn.width_mm, 2), round(drawn.height_mm, 2)),
        "twin_title": wording.text(w, "twin_title", area=area.name),
        "attribution": wording.text(w, "attribution"),
    }
