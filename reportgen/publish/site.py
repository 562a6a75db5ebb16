"""The edition's download page ("Find your area"), the per-area data CSVs and the zip of every PDF.

The page is one static, self-contained HTML file (inline CSS and JavaScript, no external
resources), so it works opened from the file system and from any static web server. Without
JavaScript the full list is shown; with it, a search box filters the list as you type.
"""

from __future__ import annotations

import html
import os
import tempfile
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from reportgen.core.formatting import long_date
from reportgen.publish.changes import csv_bytes

INDEX_FILE = "index.html"
ZIP_FILE = "profiles.zip"
BRIEF_SUFFIX = "-brief.pdf"


def data_csv(rows: pd.DataFrame) -> bytes:
    """An area's benchmark rows as CSV, every text cell neutralised against formula injection."""
    values = rows.astype(object).where(rows.notna(), "")
    return csv_bytes(list(rows.columns), values.itertuples(index=False, name=None))


def data_csv_name(profile_name: str) -> str:
    return profile_name.removesuffix(".pdf") + "-data.csv"


def area_files(entry: dict[str, Any]) -> tuple[str | None, str | None]:
    """The profile and the brief (when present) among an area's recorded files."""
    pdfs = sorted(name for name in entry.get("files", {}) if name.endswith(".pdf"))
    brief = next((n for n in pdfs if n.endswith(BRIEF_SUFFIX)), None)
    profile = next((n for n in pdfs if not n.endswith(BRIEF_SUFFIX)), None)
    return profile, brief


def write_zip(folder: Path, manifest: dict[str, Any]) -> Path:
    """profiles.zip with every recorded PDF, sorted, with fixed timestamps: same PDFs, same bytes."""
    names = sorted(n for entry in manifest["areas"].values() for n in entry.get("files", {}) if n.endswith(".pdf"))
    target = folder / ZIP_FILE
    fd, tmp = tempfile.mkstemp(prefix=f".{ZIP_FILE}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
            for name in names:
                if (folder / name).is_file():
                    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                    info.create_system, info.external_attr = 3, 0o644 << 16
                    archive.writestr(info, (folder / name).read_bytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def size_text(n_bytes: int) -> str:
    """File size as people read it: 812 KB, 1.4 MB."""
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:.1f} MB"
    return f"{max(1, round(n_bytes / 1000))} KB"


def _link(folder: Path, name: str | None, label: str, kind: str, area_name: str) -> str:
    if not name or not (folder / name).is_file():
        return ""
    size = size_text((folder / name).stat().st_size)
    return (
        f'<li><a href="{html.escape(name)}">{label}<span class="visually-hidden"> for {html.escape(area_name)}</span>'
        f'</a> <span class="meta">({kind}, {size})</span></li>'
    )


def _area_item(folder: Path, code: str, entry: dict[str, Any]) -> str:
    name = str(entry.get("area_name", code))
    profile, brief = area_files(entry)
    links = [
        _link(folder, profile, "Full profile", "PDF", name),
        _link(folder, brief, "Board brief", "PDF", name),
        _link(folder, data_csv_name(profile) if profile else None, "Data", "CSV", name),
    ]
    search = html.escape(f"{name} {code}".casefold())
    return (
        f'<li class="area" data-search="{search}"><h3>{html.escape(name)} <span class="code">{html.escape(code)}</span>'
        f'</h3><ul class="files">{"".join(links)}</ul></li>'
    )


def _regions(folder: Path, manifest: dict[str, Any]) -> str:
    grouped: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    for code, entry in manifest["areas"].items():
        key = (str(entry.get("region_code") or "Z"), str(entry.get("region_name") or "Other areas"))
        grouped.setdefault(key, []).append((code, entry))
    sections = []
    for (region_code, region_name), members in sorted(grouped.items()):
        members.sort(key=lambda pair: (str(pair[1].get("area_name", "")).casefold(), pair[0]))
        items = "".join(_area_item(folder, code, entry) for code, entry in members)
        heading_id = f"region-{html.escape(region_code)}"
        sections.append(
            f'<section class="region" aria-labelledby="{heading_id}"><h2 id="{heading_id}">{html.escape(region_name)}'
            f'</h2><ul class="areas">{items}</ul></section>'
        )
    return "\n".join(sections)


def index_html(manifest: dict[str, Any], folder: Path, edition: str, data_date: date, synthetic: bool) -> bytes:
    """The "Find your area" page of an edition."""
    count = len(manifest["areas"])
    zip_size = size_text((folder / ZIP_FILE).stat().st_size) if (folder / ZIP_FILE).is_file() else ""
    notice = (
        '<p class="notice"><strong>Synthetic demonstration data:</strong> '
        "the values in these profiles are not real.</p>"
        if synthetic
        else ""
    )
    page = PAGE.format(
        edition=html.escape(edition),
        data_date=html.escape(long_date(data_date)),
        count=count,
        plural="authority" if count == 1 else "authorities",
        zip_size=zip_size,
        notice=notice,
        regions=_regions(folder, manifest),
        css=CSS,
        script=SCRIPT,
    )
    return page.encode("utf-8")


CSS = """
*,*::before,*::after{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:1.0625rem;
line-height:1.5;color:#0b0c0c;background:#fff}
.wrap{max-width:60rem;margin:0 auto;padding:0 1rem}
header{background:#0b0c0c;color:#fff;padding:1.25rem 0}
header h1{margin:.25rem 0;font-size:2rem}
header p{margin:.25rem 0}
main{padding:1.5rem 0 3rem}
main:focus{outline:none}
footer{border-top:1px solid #b1b4b6;padding:1rem 0;font-size:.95rem}
a{color:#1d4f91;text-decoration:underline;text-underline-offset:.15em}
a:visited{color:#4c2c92}
a:hover{color:#0b0c0c;text-decoration-thickness:3px}
a:focus-visible,input:focus-visible{outline:3px solid #0b0c0c;outline-offset:0;background:#ffdd00;color:#0b0c0c;
box-shadow:0 0 0 6px #ffdd00}
input:focus-visible{background:#fff}
.skip-link{position:absolute;left:-9999px;top:0;background:#ffdd00;color:#0b0c0c;padding:.5rem 1rem;z-index:2}
.skip-link:focus{left:0}
.visually-hidden{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;
clip:rect(0 0 0 0);white-space:nowrap;border:0}
label{display:block;font-weight:700;font-size:1.2rem;margin-bottom:.25rem}
.hint{color:#505a5f;margin:0 0 .5rem}
input[type=search]{width:100%;max-width:30rem;font-size:1.2rem;padding:.4rem;border:2px solid #0b0c0c;
border-radius:0;min-height:2.75rem}
.status{font-weight:700;margin:.75rem 0}
.notice{border-left:6px solid #d4351c;padding:.5rem 1rem;background:#fff}
ul.areas{list-style:none;padding:0;margin:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));
gap:.75rem}
li.area{border:1px solid #b1b4b6;padding:.75rem}
li.area h3{margin:0 0 .25rem;font-size:1.1rem}
.code{font-weight:400;color:#505a5f;font-size:.95rem}
ul.files{margin:0;padding-left:1.1rem}
ul.files li{margin:.35rem 0}
.meta{color:#505a5f}
[hidden]{display:none!important}
"""

SCRIPT = """
(function () {
  var box = document.getElementById("search");
  var input = document.getElementById("q");
  var status = document.getElementById("status");
  var areas = Array.prototype.slice.call(document.querySelectorAll("li.area"));
  var regions = Array.prototype.slice.call(document.querySelectorAll("section.region"));
  box.hidden = false;
  var timer = null;
  function filter() {
    var query = input.value.trim().toLowerCase();
    var shown = 0;
    areas.forEach(function (li) {
      var match = query === "" || li.getAttribute("data-search").indexOf(query) !== -1;
      li.hidden = !match;
      if (match) { shown += 1; }
    });
    regions.forEach(function (section) {
      section.hidden = section.querySelector("li.area:not([hidden])") === null;
    });
    var noun = shown === 1 ? "authority" : "authorities";
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      status.textContent = query === "" ? shown + " " + noun + " listed." :
        (shown === 0 ? "No authority matches \\u201c" + input.value.trim() + "\\u201d." :
        shown + " " + noun + (shown === 1 ? " matches" : " match") + " \\u201c" + input.value.trim() + "\\u201d.");
    }, 250);
  }
  input.addEventListener("input", filter);
  filter();
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Find your area: Health assets profiles, edition {edition}</title>
<style>{css}</style>
</head>
<body>
<a class="skip-link" href="#main">Skip to the list of areas</a>
<header>
<div class="wrap">
<p>Health assets profiles</p>
<h1>Find your area</h1>
<p>Edition {edition}. Data as at {data_date}. {count} {plural}.</p>
</div>
</header>
<main id="main" tabindex="-1">
<div class="wrap">
{notice}
<p>Each upper-tier local authority has a full profile (PDF), a board brief where produced, and the data behind
every number (CSV). <a href="profiles.zip">Download every profile<span class="meta"> (ZIP, {zip_size})</span></a>.</p>
<div id="search" role="search" hidden>
<label for="q">Search by authority name or code</label>
<p class="hint" id="q-hint">For example Hartlepool or E06000001. The list below changes as you type.</p>
<input type="search" id="q" name="q" autocomplete="off" spellcheck="false" aria-describedby="q-hint">
</div>
<p id="status" class="status" role="status" aria-live="polite">{count} {plural} listed.</p>
{regions}
</div>
</main>
<footer>
<div class="wrap">
<p>Health assets profiles, edition {edition}, data as at {data_date}. Produced with reportgen.</p>
</div>
</footer>
<script>{script}</script>
</body>
</html>
"""
