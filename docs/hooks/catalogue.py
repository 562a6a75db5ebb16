"""mkdocs hook: the indicator catalogue table, generated from indicator_specs/*.yaml at build time.

A page that holds the line ``<!-- indicator-catalogue -->`` gets it replaced by a sentence counting
the indicators and one table row per spec: id and name, domain, value type, polarity and
comparison, the publisher and series (Fingertips id, derived from one, ONS Explore Local Statistics
dataset and indicator, or local data) and the original source with the data's licence. The
table is never copied by hand, so it cannot drift from the specs. A spec that cannot be read
stops the build.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

import yaml

from reportgen.core.specs import DOMAINS

MARKER = "<!-- indicator-catalogue -->"
SPECS = Path(__file__).resolve().parents[2] / "indicator_specs"
#: "# Source: Fingertips 92313 (third-party); ..." -> "third-party"
CONFIDENCE = re.compile(r"^#\s*Source:\s*Fingertips\s+\d+\s*\(([^)]+)\)", re.MULTILINE)
REQUIRED = ("id", "name", "domain", "source", "value_type", "polarity", "comparison")


def _cell(text: object) -> str:
    """One Markdown table cell: a single line, HTML special characters and pipes escaped."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def _where_from(spec: dict, text: str) -> tuple[str, str]:
    """(kind, description) of where an indicator's data come from."""
    match = CONFIDENCE.search(text)
    sure = f" ({match.group(1)})" if match else ""
    derive = spec.get("derive")
    if isinstance(derive, dict) and "from" in derive:
        return "derived", f"complement of Fingertips {derive['from']}{sure}"
    if spec.get("fingertips_id") is not None:
        extra = ""
        if spec.get("fingertips_area_type") is not None:
            extra = f"; area type {spec['fingertips_area_type']} only"
        return "fingertips", f"Fingertips {spec['fingertips_id']}{sure}{extra}"
    source = spec.get("source")
    if isinstance(source, dict) and source.get("publisher") == "ons-els":
        return "ons-els", f"ONS Explore Local Statistics, dataset {source.get('dataset')}: {source.get('indicator')}"
    return "local", "local data (supplied by the council)"


def _source_and_licence(spec: dict) -> str:
    """The original source as the definitions page names it, then the licence (the spec's default if absent)."""
    source = spec["source"]
    if isinstance(source, dict):
        source = source.get("attribution", "Office for National Statistics, Explore Local Statistics")
    return f"{source}. Licence: {spec.get('licence', 'Open Government Licence v3.0')}"


def load_specs(folder: Path = SPECS) -> list[tuple[dict, str]]:
    """Every spec in the folder with its raw text, in the profile's order (domain, order, id)."""
    found = []
    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        spec = yaml.safe_load(text)
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: not a mapping")
        missing = [key for key in REQUIRED if key not in spec]
        if missing:
            raise ValueError(f"{path}: missing {', '.join(missing)}")
        found.append((spec, text))
    if not found:
        raise ValueError(f"no indicator specs found in {folder}")
    rank = {name: index for index, name in enumerate(DOMAINS)}
    return sorted(
        found, key=lambda item: (rank.get(item[0]["domain"], len(rank)), item[0].get("order", 100), item[0]["id"])
    )


def catalogue_markdown(folder: Path = SPECS) -> str:
    specs = load_specs(folder)
    kinds = Counter(_where_from(spec, text)[0] for spec, text in specs)
    domains = list(dict.fromkeys(spec["domain"] for spec, _ in specs))
    parts = [
        f"{kinds['fingertips']} published by Fingertips",
        f"{kinds['derived']} derived from a Fingertips series",
        f"{kinds['ons-els']} from ONS Explore Local Statistics",
    ]
    if kinds["local"]:
        parts.append(f"{kinds['local']} supplied as local data")
    lines = [
        f"The packaged catalogue has **{len(specs)} indicators** across {len(domains)} domains "
        f"({', '.join(domains)}): {', '.join(parts[:-1])} and {parts[-1]}.",
        "",
        "| indicator | domain | compared as | publisher and series | source and licence |",
        "| --- | --- | --- | --- | --- |",
    ]
    for spec, text in specs:
        compared = f"{spec['value_type']}, {spec['polarity']}, {spec['comparison']}"
        row = [
            f"`{spec['id']}`<br>{_cell(spec['name'])}",
            _cell(spec["domain"]),
            _cell(compared),
            _cell(_where_from(spec, text)[1]),
            _cell(_source_and_licence(spec)),
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001 (mkdocs hook signature)
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, catalogue_markdown())
