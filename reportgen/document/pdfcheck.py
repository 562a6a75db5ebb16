"""Accessibility checks on a built PDF: tagging, language, title, figure alt text, fonts, PDF/UA."""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pikepdf.models.metadata import PdfMetadata

from reportgen.core.errors import InputFileError, ReportgenError
from reportgen.core.readers import parse_json, read_capped

FONT_FILE_KEYS = ("/FontFile", "/FontFile2", "/FontFile3")
PDFUA_PART = "{http://www.aiim.org/pdfua/ns/id/}part"
MAX_LISTED = 10
#: The attachment in which every profile and brief records what it was made from.
PROVENANCE_ATTACHMENT = "provenance.json"
#: Limits when reading a PDF's provenance: the PDF, and the attachment once decompressed (it is about 500 bytes).
MAX_PDF_BYTES = 256 * 1024 * 1024
MAX_PROVENANCE_BYTES = 64 * 1024


@dataclass(frozen=True)
class PdfCheck:
    """The outcome of one check: a short id, whether it passed, and a user-facing sentence."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class _Element:
    """One structure element with its resolved standard role and 1-based page (0 if unknown)."""

    obj: pikepdf.Object
    role: str
    page: int


def check_pdf(path: Path | str) -> list[PdfCheck]:
    """Run every check on the PDF at ``path``, in a fixed order.

    Raises ``ReportgenError`` if the file is missing, is not a PDF or cannot be read.
    """
    path = Path(path)
    with _open_pdf(path) as pdf:
        try:
            elements = _structure_elements(pdf)
            xmp = pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False)
            return [
                _check_tagged(pdf, elements),
                _check_marked(pdf),
                _check_language(pdf),
                _check_title(pdf, xmp),
                _check_display_title(pdf),
                _check_figure_alt(elements),
                _check_fonts_embedded(pdf),
                _check_pdfua_identifier(pdf, xmp),
            ]
        except (pikepdf.PdfError, ValueError) as exc:
            raise ReportgenError(f"{path}: the PDF could not be read ({exc})") from exc


def format_report(checks: list[PdfCheck]) -> str:
    """Return one ``PASS name: detail`` or ``FAIL name: detail`` line per check."""
    return "\n".join(f"{'PASS' if c.passed else 'FAIL'} {c.name}: {c.detail}" for c in checks)


def _open_pdf(path: Path) -> pikepdf.Pdf:
    """Open ``path`` with pikepdf, turning every failure into a ``ReportgenError``."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1024)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ReportgenError(f"{path}: cannot open the file ({reason})") from exc
    if b"%PDF-" not in head:
        raise ReportgenError(f"{path}: not a PDF file (no %PDF- header)")
    try:
        return pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise ReportgenError(f"{path}: the PDF is encrypted and cannot be checked") from exc
    except (pikepdf.PdfError, OSError) as exc:
        raise ReportgenError(f"{path}: the PDF cannot be opened ({exc})") from exc


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _all(count: int, word: str, verbs: tuple[str, str]) -> str:
    """``the 1 font is`` or ``all 3 fonts are``; ``verbs`` is (singular, plural)."""
    return f"the 1 {word} {verbs[0]}" if count == 1 else f"all {count} {word}s {verbs[1]}"


def _pages_phrase(pages: list[int]) -> str:
    """``page 3`` or ``pages 3, 5`` (unknown pages, recorded as 0, are left out)."""
    known = sorted({p for p in pages if p})
    if not known:
        return "page unknown"
    label = "page" if len(known) == 1 else "pages"
    return f"{label} {', '.join(str(p) for p in known)}"


def _listing(items: list[str]) -> str:
    """Join ``items`` with commas, listing at most ``MAX_LISTED`` of them."""
    shown = ", ".join(items[:MAX_LISTED])
    extra = len(items) - MAX_LISTED
    return f"{shown} and {extra} more" if extra > 0 else shown


def _text(obj: pikepdf.Object | None) -> str:
    """The stripped text of a PDF string (or name), or ``""`` if missing."""
    if obj is None:
        return ""
    return str(obj).lstrip("/").strip() if isinstance(obj, pikepdf.Name) else str(obj).strip()


def _dict(obj: pikepdf.Object | None) -> pikepdf.Object | None:
    """``obj`` if it is a dictionary (or stream), else ``None``: tolerates malformed entries."""
    return obj if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)) else None


def _page_numbers(pdf: pikepdf.Pdf) -> dict[tuple[int, int], int]:
    return {page.obj.objgen: number for number, page in enumerate(pdf.pages, start=1)}


# --- catalogue checks -------------------------------------------------------------------


def _check_tagged(pdf: pikepdf.Pdf, elements: list[_Element]) -> PdfCheck:
    if _dict(pdf.Root.get("/StructTreeRoot")) is None:
        return PdfCheck("tagged", False, "no structure tree (/StructTreeRoot): the PDF is untagged")
    if not elements:
        return PdfCheck("tagged", False, "the structure tree (/StructTreeRoot) has no elements")
    return PdfCheck("tagged", True, f"structure tree with {_plural(len(elements), 'element')}")


def _is_true(value: object) -> bool:
    """Whether a PDF value is the boolean true (pikepdf reads PDF booleans as Python's)."""
    return value is True


def _check_marked(pdf: pikepdf.Pdf) -> PdfCheck:
    mark_info = _dict(pdf.Root.get("/MarkInfo"))
    if mark_info is None:
        return PdfCheck("marked", False, "no /MarkInfo dictionary in the catalogue")
    if not _is_true(mark_info.get("/Marked")):
        return PdfCheck("marked", False, "/MarkInfo does not set /Marked to true")
    return PdfCheck("marked", True, "/MarkInfo /Marked is true")


def _check_language(pdf: pikepdf.Pdf) -> PdfCheck:
    lang = _text(pdf.Root.get("/Lang"))
    if not lang:
        return PdfCheck("language", False, "no document language (/Lang) in the catalogue")
    return PdfCheck("language", True, f"document language is {lang}")


def _check_title(pdf: pikepdf.Pdf, xmp: PdfMetadata) -> PdfCheck:
    info = _dict(pdf.trailer.get("/Info"))
    info_title = _text(info.get("/Title")) if info is not None else ""
    if info_title:
        return PdfCheck("title", True, f'title is "{info_title}" (document info)')
    xmp_title = _text(xmp.get("dc:title"))
    if xmp_title:
        return PdfCheck("title", True, f'title is "{xmp_title}" (XMP dc:title)')
    return PdfCheck("title", False, "no document title in the document info or XMP dc:title")


def _check_display_title(pdf: pikepdf.Pdf) -> PdfCheck:
    prefs = _dict(pdf.Root.get("/ViewerPreferences"))
    if prefs is None:
        return PdfCheck("display-title", False, "no /ViewerPreferences: viewers will show the file name")
    if not _is_true(prefs.get("/DisplayDocTitle")):
        return PdfCheck(
            "display-title",
            False,
            "/ViewerPreferences does not set /DisplayDocTitle to true: viewers will show the file name",
        )
    return PdfCheck("display-title", True, "/DisplayDocTitle is true: viewers show the title")


def _check_pdfua_identifier(pdf: pikepdf.Pdf, xmp: PdfMetadata) -> PdfCheck:
    if "/Metadata" not in pdf.Root:
        return PdfCheck("pdfua-identifier", False, "no XMP metadata, so no pdfuaid:part")
    part = _text(xmp.get(PDFUA_PART))
    if not part:
        return PdfCheck("pdfua-identifier", False, "the XMP metadata has no pdfuaid:part")
    if part not in ("1", "2"):
        return PdfCheck("pdfua-identifier", False, f"pdfuaid:part is {part}, expected 1 or 2")
    return PdfCheck("pdfua-identifier", True, f"XMP declares PDF/UA-{part} (pdfuaid:part {part})")


# --- structure tree ---------------------------------------------------------------------


def _structure_elements(pdf: pikepdf.Pdf) -> list[_Element]:
    """Every structure element in document order, with its standard role and page."""
    tree = _dict(pdf.Root.get("/StructTreeRoot"))
    if tree is None:
        return []
    role_map = _dict(tree.get("/RoleMap")) or pikepdf.Dictionary()
    pages = _page_numbers(pdf)
    elements: list[_Element] = []
    seen: set[tuple[int, int]] = set()
    stack = [(kid, 0) for kid in reversed(list(_kids(tree.get("/K"))))]
    while stack:
        elem, inherited_page = stack.pop()
        if not _first_visit(elem, seen) or not _is_struct_elem(elem):
            continue
        page = _element_page(elem, pages) or inherited_page
        elements.append(_Element(elem, _standard_role(elem.get("/S"), role_map), page))
        stack.extend((kid, page) for kid in reversed(list(_kids(elem.get("/K")))))
    return elements


def _kids(node: pikepdf.Object | None) -> Iterator[pikepdf.Object]:
    """The dictionary children of a /K value (a dict, an array, or an integer MCID)."""
    if isinstance(node, pikepdf.Array):
        yield from (kid for kid in node if isinstance(kid, pikepdf.Dictionary))
    elif isinstance(node, pikepdf.Dictionary):
        yield node


def _first_visit(obj: pikepdf.Object, seen: set[tuple[int, int]]) -> bool:
    """False if the indirect object ``obj`` was already visited (a cycle or shared node)."""
    if not obj.is_indirect:
        return True
    if obj.objgen in seen:
        return False
    seen.add(obj.objgen)
    return True


def _is_struct_elem(obj: pikepdf.Object) -> bool:
    """Structure elements have /S; marked-content (/MCR) and object (/OBJR) references do not."""
    return "/S" in obj and obj.get("/Type") not in ("/MCR", "/OBJR")


def _element_page(elem: pikepdf.Object, pages: dict[tuple[int, int], int]) -> int:
    """The element's /Pg, else that of its first marked-content or object reference, else 0."""
    candidates = [elem, *(k for k in _kids(elem.get("/K")) if not _is_struct_elem(k))]
    for candidate in candidates:
        page = candidate.get("/Pg")
        if isinstance(page, pikepdf.Dictionary) and page.objgen in pages:
            return pages[page.objgen]
    return 0


def _standard_role(role: pikepdf.Object | None, role_map: pikepdf.Object) -> str:
    """Follow /RoleMap from ``role`` to a standard structure type (guarding against loops)."""
    name = str(role) if role is not None else ""
    visited = {name}
    while name in role_map:
        mapped = str(role_map[name])
        if mapped in visited:
            break
        visited.add(mapped)
        name = mapped
    return name


def _check_figure_alt(elements: list[_Element]) -> PdfCheck:
    figures = [e for e in elements if e.role == "/Figure"]
    if not figures:
        return PdfCheck("figure-alt", True, "no tagged figures were found")
    failing = [
        (number, fig.page)
        for number, fig in enumerate(figures, start=1)
        if not (_text(fig.obj.get("/Alt")) or _text(fig.obj.get("/ActualText")))
    ]
    total = _plural(len(figures), "figure")
    if not failing:
        detail = f"{_all(len(figures), 'figure', ('has', 'have'))} alternative text"
        return PdfCheck("figure-alt", True, detail)
    verb = "has" if len(failing) == 1 else "have"
    where = [f"figure {n} on page {p}" if p else f"figure {n}" for n, p in failing]
    detail = f"{len(failing)} of {total} {verb} no alternative text ({_listing(where)})"
    return PdfCheck("figure-alt", False, detail)


# --- fonts ------------------------------------------------------------------------------


def _check_fonts_embedded(pdf: pikepdf.Pdf) -> PdfCheck:
    used: dict[str, list[int]] = {}
    missing: dict[str, list[int]] = {}
    for number, page in enumerate(pdf.pages, start=1):
        for name, font in _page_fonts(page.obj):
            used.setdefault(name, []).append(number)
            if not _is_embedded(font):
                missing.setdefault(name, []).append(number)
    if not used:
        return PdfCheck("fonts-embedded", True, "no fonts are used")
    if not missing:
        detail = f"{_all(len(used), 'font', ('is', 'are'))} embedded"
        return PdfCheck("fonts-embedded", True, detail)
    names = [f"{name} ({_pages_phrase(pages)})" for name, pages in sorted(missing.items())]
    verb = "is" if len(missing) == 1 else "are"
    detail = f"{_plural(len(missing), 'font')} {verb} not embedded: {_listing(names)}"
    return PdfCheck("fonts-embedded", False, detail)


def _page_fonts(page: pikepdf.Object) -> Iterator[tuple[str, pikepdf.Object]]:
    """(name, font dictionary) for every font reachable from a page, its forms and annotations."""
    seen: set[tuple[int, int]] = set()
    yield from _resource_fonts(_inherited_resources(page), seen)
    for annot in page.get("/Annots") or []:
        for stream in _appearance_streams(annot):
            if _first_visit(stream, seen):
                yield from _resource_fonts(stream.get("/Resources"), seen)


def _inherited_resources(page: pikepdf.Object) -> pikepdf.Object | None:
    """The page's /Resources, inherited from the page tree if the page has none."""
    node: pikepdf.Object | None = page
    hops = 0
    while isinstance(node, pikepdf.Dictionary) and hops < 64:
        if "/Resources" in node:
            return node.get("/Resources")
        node, hops = node.get("/Parent"), hops + 1
    return None


def _appearance_streams(annot: pikepdf.Object) -> Iterator[pikepdf.Object]:
    """The normal, rollover and down appearance streams of an annotation."""
    appearance = annot.get("/AP") if isinstance(annot, pikepdf.Dictionary) else None
    if not isinstance(appearance, pikepdf.Dictionary):
        return
    for key in ("/N", "/R", "/D"):
        entry = appearance.get(key)
        if isinstance(entry, pikepdf.Stream):
            yield entry
        elif isinstance(entry, pikepdf.Dictionary):
            yield from (s for s in entry.values() if isinstance(s, pikepdf.Stream))


def _resource_fonts(
    resources: pikepdf.Object | None, seen: set[tuple[int, int]]
) -> Iterator[tuple[str, pikepdf.Object]]:
    """Fonts in a resource dictionary, recursing into forms, patterns and Type3 fonts."""
    if not isinstance(resources, pikepdf.Dictionary) or not _first_visit(resources, seen):
        return
    for key, font in (resources.get("/Font") or {}).items():
        if not isinstance(font, pikepdf.Dictionary):
            continue
        yield _font_name(key, font), font
        if font.get("/Subtype") == "/Type3" and _first_visit(font, seen):
            yield from _resource_fonts(font.get("/Resources"), seen)
    for category in ("/XObject", "/Pattern"):
        for child in (resources.get(category) or {}).values():
            if isinstance(child, pikepdf.Stream) and _first_visit(child, seen):
                yield from _resource_fonts(child.get("/Resources"), seen)


def _font_name(key: str, font: pikepdf.Object) -> str:
    """The font's /BaseFont (or /Name for Type3), else its resource key."""
    name = font.get("/BaseFont") or font.get("/Name")
    return _text(name) if name is not None else key.lstrip("/")


def _is_embedded(font: pikepdf.Object) -> bool:
    """Type3 fonts are embedded by nature; others need a font file in their descriptor."""
    subtype = font.get("/Subtype")
    if subtype == "/Type3":
        return True
    if subtype == "/Type0":
        descendants = font.get("/DescendantFonts")
        if not isinstance(descendants, pikepdf.Array) or len(descendants) == 0:
            return False
        font = descendants[0]
    descriptor = font.get("/FontDescriptor")
    if not isinstance(descriptor, pikepdf.Dictionary):
        return False
    return any(key in descriptor for key in FONT_FILE_KEYS)


def embedded_provenance(source: Path | bytes) -> dict[str, str] | None:
    """The provenance record embedded in a reportgen PDF (its ``provenance.json`` attachment), or ``None``.

    ``None`` when ``source`` (a path or the PDF's bytes) is not a readable PDF, has no such
    attachment, or the attachment is not a flat JSON object of text of at most 64 KB. A path is
    read as a regular file only (see :func:`reportgen.core.readers.read_capped`); decompression is
    bounded, so a crafted attachment cannot fill memory.
    """
    try:
        data = read_capped(source, MAX_PDF_BYTES) if isinstance(source, Path) else source
    except InputFileError:
        return None
    if not data or not data.startswith(b"%PDF-"):
        return None
    try:
        with pikepdf.open(io.BytesIO(data), attempt_recovery=False) as pdf:
            raw = _attachment_text(pdf, PROVENANCE_ATTACHMENT)
    except Exception:  # noqa: BLE001 - any failure to read a tampered PDF means "no provenance"
        return None
    if raw is None:
        return None
    try:
        record = parse_json(raw, PROVENANCE_ATTACHMENT, max_depth=1)
    except InputFileError:
        return None
    if not isinstance(record, dict) or not all(isinstance(value, str) for value in record.values()):
        return None
    return record


def _attachment_text(pdf: pikepdf.Pdf, name: str) -> bytes | None:
    """The decompressed bytes of the attachment ``name`` (uncompressed or Flate only), at most the limit."""
    spec = pdf.attachments.get(name)
    if spec is None:
        return None
    files = spec.obj.get("/EF")
    stream = files.get("/F") if isinstance(files, pikepdf.Dictionary) else None
    if not isinstance(stream, pikepdf.Stream) or "/DecodeParms" in stream:
        return None
    raw = stream.read_raw_bytes()
    if len(raw) > MAX_PROVENANCE_BYTES:
        return None
    filters = stream.get("/Filter")
    if filters is None:
        return bytes(raw)
    if filters != pikepdf.Name.FlateDecode:
        return None
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(raw, MAX_PROVENANCE_BYTES + 1)
    except zlib.error:
        return None
    return text if len(text) <= MAX_PROVENANCE_BYTES else None
