"""``reportgen fetch``: every series the specs name, from Fingertips and ONS Explore Local
Statistics, into one snapshot CSV (Fingertips' export format), its metadata and a manifest.

The HTTP client (session, timeouts and deadlines, retries, TLS, caching, size caps) is
:mod:`reportgen.sources.http`, shared by both publishers; this module holds what is Fingertips' own
(its addresses, the checks of its CSV, its metadata) and the fetch itself, which asks
:mod:`reportgen.sources.els` for the ELS datasets. Every body is checked before anything is
written; the snapshot, its metadata and manifest (every URL with its SHA-256) are written
atomically, streamed from the cached bodies, only when every request succeeded.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import math
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from reportgen.core.errors import printable
from reportgen.core.files import check_folder, reserve, write_atomic
from reportgen.core.geography import load_geography
from reportgen.core.periods import period_sort_key
from reportgen.core.specs import IndicatorSpec
from reportgen.sources import els, population
from reportgen.sources.http import (
    DEFAULT_BASE_URL,
    DEFAULT_DEADLINE,
    DEFAULT_ELS_BASE_URL,
    DEFAULT_REQUEST_TIMEOUT,
    FINGERTIPS_SITE,
    MAX_DEADLINE,
    MAX_REDIRECTS,
    MAX_RESPONSE_BYTES,
    MAX_RETRY_AFTER,
    RESUME_SECONDS,
    RETRY_STATUSES,
    USER_AGENT,
    Client,
    Fetched,
    FetchError,
    FetchOptions,
    Sink,
    Site,
    _retry_after,
    base_url_problem,
    csv_records,
    default_cache_dir,
    make_session,
    open_body,
    part_path,
    redact,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_ELS_BASE_URL",
    "DEFAULT_REQUEST_TIMEOUT",
    "MAX_DEADLINE",
    "MAX_REDIRECTS",
    "MAX_RESPONSE_BYTES",
    "MAX_RETRY_AFTER",
    "RESUME_SECONDS",
    "RETRY_STATUSES",
    "USER_AGENT",
    "FetchError",
    "FetchOptions",
    "FetchResult",
    "_retry_after",
    "base_url_problem",
    "default_cache_dir",
    "fetch",
    "make_session",
    "metadata_warnings",
    "read_metadata_file",
    "read_metadata_text",
]

DEFAULT_AREA_TYPE = 502
REGION_AREA_TYPE = 6
BATCH_SIZE = 100


@dataclass(frozen=True)
class Download:
    """One checked response, kept on disk in the cache folder."""

    url: str
    path: Path
    sha256: str
    length: int
    from_cache: bool
    header: list[str]
    rows: int
    ids: tuple[int, ...]
    present: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch`` wrote."""

    csv_path: Path
    metadata_path: Path
    manifest_path: Path
    rows: int
    downloaded: int
    from_cache: int
    warnings: tuple[str, ...]


def needed_ids(specs: Sequence[IndicatorSpec]) -> list[int]:
    """Every Fingertips id the specs need: published series and the sources of derived ones."""
    ids = {s.fingertips_id for s in specs if s.fingertips_id is not None}
    ids |= {s.derive.source_id for s in specs if s.derive is not None}
    return sorted(ids)


def ids_by_area_type(specs: Sequence[IndicatorSpec], default: int) -> dict[int, list[int]]:
    """The ids to fetch for each area type: a spec's ``fingertips_area_type``, else ``default``."""
    groups: dict[int, set[int]] = {}
    for spec in specs:
        ids = needed_ids([spec])
        if ids:
            groups.setdefault(spec.fingertips_area_type or default, set()).update(ids)
    return {area_type: sorted(ids) for area_type, ids in sorted(groups.items(), reverse=True)}


def batches(ids: Sequence[int], size: int = BATCH_SIZE) -> list[list[int]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def data_url(base_url: str, ids: Sequence[int], area_type: int) -> str:
    query = urlencode(
        {
            "indicator_ids": ",".join(str(i) for i in ids),
            "child_area_type_id": area_type,
            "parent_area_type_id": REGION_AREA_TYPE,
            "include_sortable_time_periods": "yes",
        },
        safe=",",
    )
    return f"{base_url.rstrip('/')}/all_data/csv/by_indicator_id?{query}"


def metadata_url(base_url: str, ids: Sequence[int]) -> str:
    query = urlencode({"indicator_ids": ",".join(str(i) for i in ids)}, safe=",")
    return f"{base_url.rstrip('/')}/indicator_metadata/csv/by_indicator_id?{query}"


@dataclass(frozen=True)
class _Checked:
    header: list[str]
    rows: int
    present: frozenset[str]
    sha256: str
    length: int


class _Rows:
    """The row checks of a Fingertips CSV, one record at a time.

    Fingertips drops the last, empty field of many rows, so a row may have one field fewer than the
    header; a last row shorter than the others means the download was cut off.
    """

    def __init__(self, url: str, header: list[str], wanted: set[str]) -> None:
        self.url, self.header, self.wanted = url, header, wanted
        self.present: set[str] = set()
        self.count = 0
        self.last_width = 0
        self.widest_before_last = 0
        self.short: str | None = None  # a row with too few fields: an error unless it is the last

    def add(self, record: list[str]) -> None:
        if self.short is not None:
            raise FetchError(self.short)
        self.count += 1
        if self.count > 1:
            self.widest_before_last = max(self.widest_before_last, self.last_width)
        self.last_width = len(record)
        width = len(self.header)
        if not width - 1 <= len(record) <= width:
            problem = (
                f"{self.url}: row {self.count + 1} has {len(record)} fields but the header has {width}; "
                "the download is incomplete or damaged, try again."
            )
            if len(record) > width:
                raise FetchError(problem)
            self.short = problem
        key = record[0].strip()
        if key in self.wanted:
            self.present.add(key)

    def finish(self) -> None:
        if self.short is not None or (self.count > 1 and self.last_width < self.widest_before_last):
            raise FetchError(f"{self.url}: the download is truncated (the last row is incomplete); try again.")


def check_body(url: str, path: Path, ids: Sequence[int], first_column: str = "Indicator ID") -> _Checked:
    """Check a Fingertips CSV body file, reading it once: UTF-8, the header, complete rows (:class:`_Rows`).

    Returns the header, the number of rows, which of ``ids`` have rows, and the file's SHA-256 and length.
    """
    rows: _Rows | None = None
    try:
        with csv_records(path) as (records, hashing):
            for record in records:
                if not any(cell.strip() for cell in record):
                    continue
                if rows is not None:
                    rows.add(record)
                    continue
                if record[0].strip() != first_column:
                    shown = printable(",".join(record[:4])[:80])
                    raise FetchError(
                        f"{url}: the first line is not a Fingertips CSV header (expected '{first_column}', "
                        f"found '{shown}'). Check --base-url points at the Fingertips API."
                    )
                rows = _Rows(url, record, {str(i) for i in ids})
            sha256, length = hashing.digest.hexdigest(), hashing.size
    except csv.Error as exc:
        raise FetchError(f"{url}: the CSV is malformed ({exc}); the download may be truncated, try again.") from exc
    except UnicodeDecodeError as exc:
        raise FetchError(f"{url}: the response is not UTF-8 text ({exc.reason}); try again later.") from exc
    if rows is None:
        raise FetchError(f"{url}: returned an empty body; try again later.")
    rows.finish()
    return _Checked(rows.header, rows.count, frozenset(rows.present), sha256, length)


def _missing(url: str, ids: Sequence[int], present: frozenset[str], where: str) -> None:
    absent = [str(i) for i in ids if str(i) not in present]
    if absent:
        raise FetchError(
            f"{url}: no rows for indicator(s) {', '.join(absent)}{where}; check the spec's fingertips_id "
            "(or derive.from) and --area-type (older indicators are published for area type 102 only)."
        )


# --- the whole fetch -----------------------------------------------------------------------------

# --- ONS Explore Local Statistics: the datasets the specs name ----------------------------------------

#: Largest ELS file accepted (decompressed); the largest dataset CSV is under 5 MB.
MAX_ELS_BYTES = 100_000_000


def els_site(kind: str) -> Site:
    """How ELS requests are named in messages (and capped: :data:`MAX_ELS_BYTES`, read when called)."""
    return Site(
        "the ONS Explore Local Statistics files",
        "--els-base-url",
        "Check the spec's source.dataset (the dataset's folder name) and --els-base-url.",
        kind,
        ("text/csv", "application/csv", "text/plain", "application/octet-stream")
        if kind == "CSV"
        else ("application/json", "text/plain", "application/octet-stream"),
        MAX_ELS_BYTES if kind == "CSV" else els.MAX_JSON_BYTES,
    )


def els_urls(base_url: str, dataset: str) -> tuple[str, str]:
    """``{base}/{slug}/{slug}.csv`` and ``.json``: the data repository's layout."""
    base = base_url.rstrip("/")
    return f"{base}/{dataset}/{dataset}.csv", f"{base}/{dataset}/{dataset}.json"


@dataclass(frozen=True)
class _ElsChecked:
    """A checked ELS body: the CSV read (or the JSON's metadata), its SHA-256 and length."""

    sha256: str
    length: int
    table: els.ElsTable | None = None
    metadata: dict[str, els.ElsMetadata] = field(default_factory=dict)


def _read_capped(path: Path, cap: int) -> tuple[bytes, str]:
    with open_body(path) as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        raise FetchError(f"{path}: over {cap // 1_000_000} MB")
    return data, hashlib.sha256(data).hexdigest()


def _check_els_csv(url: str, path: Path) -> _ElsChecked:
    data, sha = _read_capped(path, MAX_ELS_BYTES)
    try:
        table = els.read_els_csv(data, url)
    except els.ElsError as exc:
        raise FetchError(exc.message) from None
    return _ElsChecked(sha, len(data), table=table)


def _check_els_json(url: str, path: Path) -> _ElsChecked:
    data, sha = _read_capped(path, els.MAX_JSON_BYTES)
    try:
        found = els.read_els_json(data, url)
    except els.ElsError as exc:
        raise FetchError(exc.message) from None
    return _ElsChecked(sha, len(data), metadata=found)


@dataclass(frozen=True)
class _ElsSeries:
    """One ELS spec's series, ready to write: its selection, target and metadata."""

    spec: IndicatorSpec
    selection: els.Selection
    metadata: els.ElsMetadata | None
    csv: Fetched[_ElsChecked]
    json: Fetched[_ElsChecked]


def els_specs(specs: Sequence[IndicatorSpec]) -> list[IndicatorSpec]:
    return [s for s in specs if s.els is not None]


def _fetch_els(
    specs: Sequence[IndicatorSpec], options: FetchOptions, client: Client
) -> tuple[list[_ElsSeries], list[str]]:
    """Download and read every ELS dataset the specs name; every problem stops the fetch."""
    geography = load_geography()
    bodies: dict[str, tuple[Fetched[_ElsChecked], Fetched[_ElsChecked]]] = {}
    series, warnings = [], []
    for spec in specs:
        assert spec.els is not None
        dataset = spec.els.dataset
        if dataset not in bodies:
            csv_url, json_url = els_urls(options.els_base_url, dataset)
            bodies[dataset] = (
                client.download(csv_url, els_site("CSV"), _check_els_csv),
                client.download(json_url, els_site("JSON"), _check_els_json),
            )
        got_csv, got_json = bodies[dataset]
        table = got_csv.checked.table
        assert table is not None
        found = got_json.checked.metadata
        where = f"{spec.path}: source {dataset}"
        try:
            indicator = els.match_indicator(table, spec.els.indicator, els.titles(found))
            selection = els.select_upper_tier(table, indicator, geography)
        except els.ElsError as exc:
            raise FetchError(f"{spec.path}: {exc.message}") from None
        for line in selection.report(f"{where} ({printable(indicator)})"):
            options.progress(line)
        warnings += selection.gaps(f"{where} ({printable(indicator)})")
        series.append(_ElsSeries(spec, selection, els.metadata_for(found, indicator), got_csv, got_json))
    return series, warnings


def _els_rows(items: Sequence[_ElsSeries]) -> Iterator[dict[str, str]]:
    geography = load_geography()
    for item in items:
        target = els.Target(item.spec.data_key, item.spec.sex, item.spec.age)
        yield from els.fingertips_records(item.selection, target, geography)


def _els_metadata_record(items: Sequence[_ElsSeries]) -> dict[str, Any]:
    """The ELS metadata the specs use, keyed by spec id, for ``check --metadata``."""
    return {
        item.spec.id: {
            "dataset": item.spec.els.dataset if item.spec.els else "",
            "indicator": item.selection.indicator,
            "confidence_intervals": item.selection.has_ci,
            "periods": item.selection.periods,
            **(item.metadata.record() if item.metadata else {}),
        }
        for item in items
    }


# --- ONS Explore Local Statistics: the population pyramid ------------------------------------------

#: Largest population-by-age-and-sex CSV accepted: every UK area and sex by 18 age bands since 1991.
MAX_POPULATION_BYTES = 400_000_000


@dataclass(frozen=True)
class _PopulationChecked:
    sha256: str
    length: int
    found: population.ElsPopulation


@dataclass(frozen=True)
class _Population:
    csv: Fetched[_PopulationChecked]
    json: Fetched[_ElsChecked]


def _check_population_csv(url: str, path: Path) -> _PopulationChecked:
    """Stream the published CSV, keeping England's and the authorities' latest pyramids, every row checked."""
    try:
        with csv_records(path) as (records, hashing):
            found = population.read_els_population(records, url, load_geography())
            sha256, length = hashing.digest.hexdigest(), hashing.size
    except population.PopulationError as exc:
        raise FetchError(exc.message) from None
    except UnicodeDecodeError as exc:
        raise FetchError(f"{url}: the response is not UTF-8 text ({exc.reason}); try again later.") from None
    return _PopulationChecked(sha256, length, found)


def _fetch_population(options: FetchOptions, client: Client) -> _Population:
    csv_url, json_url = els_urls(options.els_base_url, population.DATASET)
    site = dataclasses.replace(els_site("CSV"), max_bytes=MAX_POPULATION_BYTES)
    got_csv = client.download(csv_url, site, _check_population_csv)
    got_json = client.download(json_url, els_site("JSON"), _check_els_json)
    for line in got_csv.checked.found.report(csv_url):
        options.progress(line)
    return _Population(got_csv, got_json)


def _write_population(out: Path, pyramids: _Population | None, manifest: dict[str, Any]) -> None:
    """The tidy population file beside the snapshot, recorded in the manifest (an older one is removed)."""
    path = population.population_path(out)
    if pyramids is None:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)  # an older snapshot's pyramids would no longer match
        return
    table = pyramids.csv.checked.found.table
    text = population.tidy_csv_text(table).encode("utf-8")
    write_atomic(path, text)
    meta = els.metadata_for(pyramids.json.checked.metadata, "") or None
    manifest["requests"] += [
        {"url": redact(f.url), "sha256": f.sha256, "bytes": f.length, "from_cache": f.from_cache}
        for f in (pyramids.csv, pyramids.json)
    ]
    manifest["population_file"] = path.name
    manifest["population_sha256"] = hashlib.sha256(text).hexdigest()
    manifest["population_period"] = table.period
    manifest["population_areas"] = len(table.pyramids)
    manifest["population_source"] = {"dataset": population.DATASET, **(meta.record() if meta else {})}


# --- the whole fetch -----------------------------------------------------------------------------


def _part_path(cache_dir: Path, url: str) -> Path:
    """The marker saying ``url``'s cached body was checked by a fetch that has not finished."""
    return part_path(cache_dir, url)


def check_options(options: FetchOptions) -> None:
    """Refuse base URLs with credentials (or not http(s)) and deadlines that are not positive."""
    problem = base_url_problem(options.base_url)
    if problem:
        raise FetchError(f"--base-url {problem}.")
    problem = base_url_problem(options.els_base_url, DEFAULT_ELS_BASE_URL)
    if problem:
        raise FetchError(f"--els-base-url {problem}.")
    for name, value in (("--timeout", options.request_timeout), ("--deadline", options.deadline)):
        if not (math.isfinite(value) and 0 < value <= MAX_DEADLINE):
            raise FetchError(f"{name} must be more than 0 and at most {MAX_DEADLINE:g} seconds.")


def fetch(
    specs: Sequence[IndicatorSpec], out: Path, options: FetchOptions, with_population: bool = False
) -> FetchResult:
    """Fetch every series the specs name, from Fingertips and ELS, into ``out`` (+ metadata and manifest).

    ``with_population``: also ELS's ``population-by-age-and-sex`` for the profiles' population pyramid,
    written as ``<out>.population.csv`` (:func:`reportgen.sources.population.population_path`).
    """
    check_options(options)
    ids = needed_ids(specs)
    if not ids and not els_specs(specs):
        raise FetchError(
            "None of the specs has a fingertips_id, derive.from or an ELS source, so there is nothing to fetch."
        )
    check_folder(out.parent)  # a bad --out fails before the slow downloads
    client = Client(options)
    try:
        return _fetch(specs, ids, out, options, client, with_population)
    finally:
        client.close()


def _fetch(
    specs: Sequence[IndicatorSpec],
    ids: list[int],
    out: Path,
    options: FetchOptions,
    client: Client,
    with_population: bool = False,
) -> FetchResult:
    requests_: list[tuple[str, list[int], int | None]] = [
        (data_url(options.base_url, group, area_type), group, area_type)
        for area_type, area_ids in ids_by_area_type(specs, options.area_type).items()
        for group in batches(area_ids)
    ]
    requests_ += [(metadata_url(options.base_url, group), group, None) for group in batches(ids)]
    wanted_els = els_specs(specs)
    total = len(requests_) + 2 * len({s.els.dataset for s in wanted_els if s.els}) + (2 if with_population else 0)
    items = []
    for number, (url, group, area_type) in enumerate(requests_):
        options.advance(number, total)
        items.append(_download(client, url, group, area_type))
    series, gaps = _fetch_els(wanted_els, options, client) if wanted_els else ([], [])
    pyramids = _fetch_population(options, client) if with_population else None
    if pyramids is not None:
        gaps += pyramids.csv.checked.found.gaps(pyramids.csv.url)
    options.advance(total, total)
    downloads = [d for d, (_, _, area_type) in zip(items, requests_, strict=True) if area_type is not None]
    metadata = [d for d, (_, _, area_type) in zip(items, requests_, strict=True) if area_type is None]
    _same_headers(downloads)
    _same_headers(metadata)
    result = _write_outputs(out, downloads, metadata, series, options, pyramids)
    pyramid_urls = [pyramids.csv.url, pyramids.json.url] if pyramids is not None else []
    for url in [*(item.url for item in items), *(f.url for s in series for f in (s.csv, s.json)), *pyramid_urls]:
        client.cache.unmark(url)
    wanted = {spec.source_key for spec in specs}
    found = _read_metadata_path(result.metadata_path, wanted) | _els_entries(_els_metadata_record(series))
    warnings = gaps + metadata_warnings(specs, found)
    return FetchResult(
        result.csv_path,
        result.metadata_path,
        result.manifest_path,
        result.rows,
        result.downloaded,
        result.from_cache,
        tuple(warnings),
    )


def _download(client: Client, url: str, ids: Sequence[int], area_type: int | None) -> Download:
    """A Fingertips CSV, checked: its header, complete rows, and a row for every id asked for."""
    where = f" for area type {area_type}" if area_type else " in the metadata"

    def check(url: str, path: Path) -> _Checked:
        return check_body(url, path, ids)

    def accept(checked: _Checked) -> None:
        _missing(url, ids, checked.present, where)

    got = client.download(url, FINGERTIPS_SITE, check, accept)
    c = got.checked
    return Download(url, got.path, got.sha256, got.length, got.from_cache, c.header, c.rows, tuple(ids), c.present)


def _same_headers(downloads: Sequence[Download]) -> None:
    if not downloads:
        return
    first = downloads[0].header
    for item in downloads[1:]:
        if item.header != first:
            raise FetchError(f"{item.url}: its columns differ from the first batch's; try again later.")


@dataclass
class _Tally:
    """Rows and the latest period of each requested indicator, counted while merging."""

    rows: dict[str, int] = field(default_factory=dict)
    latest: dict[str, tuple[Any, str]] = field(default_factory=dict)

    def add(self, row: list[str], wanted: set[str], period_column: int | None) -> None:
        key = row[0]
        if key not in wanted:
            return
        self.rows[key] = self.rows.get(key, 0) + 1
        if period_column is not None and period_column < len(row):
            sort_key = period_sort_key(row[period_column])
            if key not in self.latest or sort_key > self.latest[key][0]:
                self.latest[key] = (sort_key, row[period_column])


#: The snapshot's header when no Fingertips data were fetched (only ELS series).
_METADATA_HEADER = ["Indicator ID", "Indicator", "Unit", "Value type", "Polarity"]


def _merge_into(
    path: Path,
    items: Sequence[Download],
    tally: _Tally | None,
    extra: Iterable[dict[str, str]] = (),
    header: Sequence[str] | None = None,
) -> tuple[str, int]:
    """Write one CSV to ``path`` (atomically): the first header, every body's rows, then ``extra``.

    Returns its SHA-256 and the number of rows.
    """
    count = 0
    digest = ""
    columns = list(items[0].header) if items else list(header or els.FINGERTIPS_TITLES)

    def write(handle: IO[bytes]) -> None:
        nonlocal count, digest
        sink = Sink(handle)
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(columns)
        for item in items:
            wanted = {str(i) for i in item.ids}
            column = _column(item.header, ("Time period", "Timeperiod"))
            for row in _rows(item):
                writer.writerow(row)
                count += 1
                if tally is not None:
                    tally.add(row, wanted, column)
        column = _column(columns, ("Time period", "Timeperiod"))
        for row in els.rows_for_header(extra, columns):
            writer.writerow(row)
            count += 1
            if tally is not None:
                tally.add(row, {row[0]}, column)
        sink.flush()
        digest = sink.digest.hexdigest()

    reserve(path).commit_from(write)
    return digest, count


def _rows(item: Download) -> Iterator[list[str]]:
    """The data rows of a checked body (blank lines and the header skipped)."""
    try:
        with csv_records(item.path) as (records, _):
            header_seen = False
            for record in records:
                if not any(cell.strip() for cell in record):
                    continue
                if header_seen:
                    yield record
                header_seen = True
    except (csv.Error, UnicodeDecodeError, OSError) as exc:
        raise FetchError(
            f"{item.url}: the cached response changed while it was read ({exc}); run fetch again."
        ) from exc


def els_metadata_path(out: Path) -> Path:
    """Where ``fetch`` writes the ELS metadata of a snapshot ``out``."""
    return out.with_name(out.name + ".els-metadata.json")


def _write_outputs(
    out: Path,
    downloads: Sequence[Download],
    metadata: Sequence[Download],
    series: Sequence[_ElsSeries],
    options: FetchOptions,
    pyramids: _Population | None = None,
) -> FetchResult:
    metadata_path = out.with_name(out.name + ".metadata.csv")
    manifest_path = out.with_name(out.name + ".manifest.json")
    els_path = els_metadata_path(out)
    tally = _Tally()
    metadata_sha, _ = _merge_into(metadata_path, metadata, None, header=_METADATA_HEADER)
    snapshot_sha, rows = _merge_into(out, downloads, tally, _els_rows(series))
    els_text = (json.dumps(_els_metadata_record(series), indent=2, sort_keys=True) + "\n").encode("utf-8")
    els_files = {f.url: f for s in series for f in (s.csv, s.json)}
    manifest = {
        "tool": USER_AGENT,
        "base_url": redact(options.base_url),
        "els_base_url": redact(options.els_base_url),
        "area_type": options.area_type,
        "retrieved_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "requests": [
            {"url": redact(d.url), "sha256": d.sha256, "rows": d.rows, "from_cache": d.from_cache}
            for d in (*downloads, *metadata)
        ]
        + [
            {"url": redact(f.url), "sha256": f.sha256, "bytes": f.length, "from_cache": f.from_cache}
            for f in els_files.values()
        ],
        "file": out.name,
        "sha256": snapshot_sha,
        "rows_per_indicator": dict(sorted(tally.rows.items(), key=_id_order)),
        "latest_period_per_indicator": {k: v[1] for k, v in sorted(tally.latest.items(), key=_id_order)},
        "metadata_file": metadata_path.name,
        "metadata_sha256": metadata_sha,
    }
    if series:
        write_atomic(els_path, els_text)
        manifest["els_metadata_file"] = els_path.name
        manifest["els_metadata_sha256"] = hashlib.sha256(els_text).hexdigest()
        manifest["els_sources"] = {
            s.spec.id: {"dataset": s.spec.els.dataset if s.spec.els else "", "indicator": s.selection.indicator}
            for s in series
        }
    else:
        with contextlib.suppress(OSError):
            els_path.unlink(missing_ok=True)  # an older snapshot's ELS metadata would no longer match
    _write_population(out, pyramids, manifest)
    write_atomic(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    flags = [d.from_cache for d in (*downloads, *metadata)] + [f.from_cache for f in els_files.values()]
    if pyramids is not None:
        flags += [pyramids.csv.from_cache, pyramids.json.from_cache]
    cached = sum(flags)
    return FetchResult(out, metadata_path, manifest_path, rows, len(flags) - cached, cached, ())


def _id_order(item: tuple[str, Any]) -> int:
    return int(item[0]) if item[0].isascii() and item[0].isdigit() else 0


def _column(header: Sequence[str], names: Sequence[str]) -> int | None:
    wanted = {n.lower() for n in names}
    for i, name in enumerate(header):
        if name.strip().lower() in wanted:
            return i
    return None


# --- comparing specs with Fingertips' metadata ----------------------------------------------------

#: Fingertips polarity names -> ours.
POLARITY_NAMES = {
    "rag - high is good": "high_is_good",
    "rag - low is good": "low_is_good",
    "bob - blue orange blue": "no_judgement",
    "not applicable": "not_applicable",
    "no judgement": "no_judgement",
}
#: Fingertips value type names -> ours.
VALUE_TYPE_NAMES = {
    "proportion": "proportion",
    "crude rate": "crude_rate",
    "directly standardised rate": "dsr",
    "indirectly standardised ratio": "isr",
    "indirectly standardised rate": "isr",
    "life expectancy": "life_expectancy",
    "count": "count",
    "mean": "mean",
    "score": "score",
    "ratio": "ratio",
}
_REVERSED = {"high_is_good": "low_is_good", "low_is_good": "high_is_good"}
_JUDGED = ("high_is_good", "low_is_good")


MAX_METADATA_BYTES = 50_000_000


def read_metadata_text(text: str, label: str = "metadata") -> dict[str, dict[str, str]]:
    """Fingertips' indicator metadata CSV, keyed by indicator id (columns lower-cased).

    A field over the csv module's limit or a quote never closed is a :class:`FetchError` naming
    ``label`` and the line where the record starts.
    """
    return _read_metadata(io.StringIO(text.lstrip("\ufeff"), newline=""), label)


def _read_metadata(handle: IO[str], label: str, wanted: set[str] | None = None) -> dict[str, dict[str, str]]:
    """The metadata records read from ``handle``: only those of the ``wanted`` ids, if given."""
    reader = csv.DictReader(handle, strict=True)
    out: dict[str, dict[str, str]] = {}
    start = 1
    try:
        if reader.fieldnames is None:
            return out
        start = reader.reader.line_num + 1
        for row in reader:
            cells = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            key = cells.get("indicator id")
            if key and (wanted is None or key in wanted):
                out[key] = cells
            start = reader.reader.line_num + 1
    except csv.Error as exc:
        raise FetchError(
            f"{label}:{start}: not a readable CSV record ({exc}; perhaps a quote that is never closed); "
            "use the file written by 'reportgen fetch'."
        ) from None
    return out


def _read_metadata_path(path: Path, wanted: set[str]) -> dict[str, dict[str, str]]:
    """The metadata of the ``wanted`` ids from the metadata file ``fetch`` wrote, streamed."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return _read_metadata(handle, str(path), wanted)


def _check_metadata_file(path: Path) -> None:
    try:
        info = path.stat()
    except OSError:
        raise FetchError(
            f"Metadata file {path} does not exist. 'reportgen fetch' writes it beside the snapshot."
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise FetchError(f"Metadata file {path} is not a regular file (a folder, pipe or device); give the CSV file.")
    if info.st_size > MAX_METADATA_BYTES:
        raise FetchError(
            f"Metadata file {path} is over {MAX_METADATA_BYTES // 1_000_000} MB, too big for indicator metadata; "
            "use the file written by 'reportgen fetch'."
        )


def read_metadata_file(path: Path) -> dict[str, dict[str, str]]:
    _check_metadata_file(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FetchError(f"{path}: not UTF-8 text ({exc.reason}); use the file written by 'reportgen fetch'.") from exc
    if not text.lstrip().startswith("Indicator ID"):
        raise FetchError(f"{path}:1: not a Fingertips indicator metadata CSV (the first column is not 'Indicator ID').")
    return read_metadata_text(text, str(path)) | _read_els_metadata(path)


def metadata_warnings(specs: Sequence[IndicatorSpec], metadata: dict[str, dict[str, str]]) -> list[str]:
    """One line per difference between a spec and Fingertips' metadata for its series.

    Text from the metadata (names, units) is shown escaped (:func:`printable`): it comes from the server.
    """
    lines: list[str] = []
    for spec in specs:
        if spec.els is not None:
            els_meta = metadata.get(_ELS_KEY + spec.id)
            if els_meta is None:
                lines.append(
                    printable(
                        f"{spec.path}: no ELS metadata for dataset {spec.els.dataset} in the snapshot; "
                        "run 'reportgen fetch' with these specs"
                    )
                )
            else:
                lines += [printable(f"{spec.path}: {text}") for text in _els_differences(spec, els_meta)]
            continue
        if spec.fingertips_id is None and spec.derive is None:
            continue
        key = spec.source_key
        meta = metadata.get(key)
        if meta is None:
            lines.append(printable(f"{spec.path}: Fingertips has no metadata for indicator {key}; check the id"))
            continue
        lines += [printable(f"{spec.path}: {text}") for text in _differences(spec, meta)]
    return lines


def _differences(spec: IndicatorSpec, meta: dict[str, str]) -> list[str]:
    found: list[str] = []
    derived = spec.derive is not None
    name = meta.get("indicator", "")
    if not derived and name and _similarity(name, spec.name) < 0.45:
        found.append(f"name differs from Fingertips' '{name}' for {spec.source_key}; is the fingertips_id right?")
    value_type = VALUE_TYPE_NAMES.get(meta.get("value type", "").lower())
    if value_type and value_type != spec.value_type:
        found.append(f"value_type is {spec.value_type} but Fingertips says '{meta['value type']}'")
    theirs = POLARITY_NAMES.get(meta.get("polarity", "").lower())
    expected = _REVERSED.get(theirs, theirs) if derived and theirs else theirs
    if theirs and (expected in _JUDGED or spec.polarity in _JUDGED) and expected != spec.polarity:
        what = "reversed for a complement, " if derived else ""
        found.append(
            f"polarity is {spec.polarity} but Fingertips says '{meta['polarity']}' ({what}expected {expected})"
        )
    unit = meta.get("unit", "")
    if unit and _norm_unit(unit) != _norm_unit(spec.unit):
        found.append(f"unit is '{spec.unit}' but Fingertips says '{unit}'")
    return found


def _norm_unit(unit: str) -> str:
    return unit.lower().replace(" ", "").replace(",", "")


def _similarity(a: str, b: str) -> float:
    words_a = {w for w in _words(a) if len(w) > 2}
    words_b = {w for w in _words(b) if len(w) > 2}
    if not words_a or not words_b:
        return 1.0
    return len(words_a & words_b) / min(len(words_a), len(words_b))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


# --- comparing ELS specs with the datasets' JSON metadata ---------------------------------------------

_ELS_KEY = "els:"


def _els_entries(record: Any) -> dict[str, dict[str, str]]:
    """The ELS metadata written by ``fetch`` as metadata entries keyed ``els:<spec id>`` (text values)."""
    if not isinstance(record, dict):
        return {}
    out: dict[str, dict[str, str]] = {}
    for spec_id, entry in record.items():
        if isinstance(spec_id, str) and isinstance(entry, dict):
            out[_ELS_KEY + spec_id] = {
                str(k): ("yes" if v is True else "no" if v is False else "" if v is None else str(v))
                for k, v in entry.items()
                if isinstance(v, str | int | float | bool) or v is None
            }
    return out


def _read_els_metadata(metadata_path: Path) -> dict[str, dict[str, str]]:
    """The ELS metadata beside a metadata CSV written by ``fetch`` ({} if there is none)."""
    name = metadata_path.name.removesuffix(".metadata.csv")
    path = els_metadata_path(metadata_path.with_name(name))
    try:
        info = path.stat()
    except OSError:
        return {}
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_METADATA_BYTES:
        raise FetchError(f"{path}: not a regular file of at most {MAX_METADATA_BYTES // 1_000_000} MB.")
    try:
        return _els_entries(json.loads(path.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FetchError(f"{path}: not readable JSON ({exc}); use the file written by 'reportgen fetch'.") from None


def _els_differences(spec: IndicatorSpec, meta: dict[str, str]) -> list[str]:
    found: list[str] = []
    dataset = meta.get("dataset", "")
    title = meta.get("label", "")
    subtitle = meta.get("subtitle", "")
    if title and max(_similarity(title, spec.name), _similarity(subtitle or title, spec.name)) < 0.45:
        found.append(f"name differs from ELS's title '{title}' ({dataset}); is source.indicator right?")
    unit = meta.get("unit", "")
    if unit and not _same_els_unit(unit, spec.unit):
        found.append(f"unit is '{spec.unit}' but ELS says '{unit}' ({dataset})")
    decimals = meta.get("decimals", "")
    if decimals.isdigit() and int(decimals) != spec.decimals:
        found.append(f"decimals is {spec.decimals} but ELS shows {decimals} decimal place(s) ({dataset})")
    has_ci = meta.get("confidence_intervals") == "yes"
    if not has_ci and spec.comparison in ("ci95", "ci998", "ci95_998"):
        found.append(
            f"comparison is {spec.comparison} but ELS publishes no confidence intervals for {dataset}; "
            "use quintiles or none"
        )
    if has_ci and spec.comparison in ("quintiles", "none"):
        found.append(
            f"ELS publishes 95% confidence intervals for {dataset} but comparison is {spec.comparison}; "
            "ci95 would compare with England"
        )
    return found


def _same_els_unit(theirs: str, ours: str) -> bool:
    a, b = _norm_unit(theirs).removesuffix("population").removesuffix("people"), _norm_unit(ours)
    b = b.removesuffix("population").removesuffix("people")
    return a == b or (bool(a) and bool(b) and (a in b or b in a))


def els_metadata_warnings(specs: Sequence[IndicatorSpec], record: Any) -> list[str]:
    """One line per difference between an ELS spec and its dataset's metadata (as ``fetch`` recorded it)."""
    return metadata_warnings([s for s in specs if s.els is not None], _els_entries(record))
