"""PDF accessibility checks on small PDFs built here with WeasyPrint and pikepdf."""

from __future__ import annotations

import base64
from pathlib import Path

import pikepdf
import pytest
import weasyprint

from reportgen.core.errors import ReportgenError
from reportgen.document.pdfcheck import PdfCheck, check_pdf, format_report

ORDER = [
    "tagged",
    "marked",
    "language",
    "title",
    "display-title",
    "figure-alt",
    "fonts-embedded",
    "pdfua-identifier",
]
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
    b'<rect width="15" height="20" fill="#369"/><rect x="20" y="8" width="15" height="12"/></svg>'
)
IMG_SRC = "data:image/svg+xml;base64," + base64.b64encode(SVG).decode("ascii")


def html(img_alt: str | None = "A bar chart") -> str:
    alt = "" if img_alt is None else f' alt="{img_alt}"'
    return (
        '<html lang="en-GB"><head><title>Health assets profile</title></head><body>'
        "<h1>Health assets</h1><p>Some text about the area.</p>"
        f'<img{alt} src="{IMG_SRC}"></body></html>'
    )


def by_name(checks: list[PdfCheck]) -> dict[str, PdfCheck]:
    return {check.name: check for check in checks}


def failing(checks: list[PdfCheck]) -> set[str]:
    return {check.name for check in checks if not check.passed}


@pytest.fixture(scope="module")
def pdf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pdfcheck")


@pytest.fixture(scope="module")
def tagged_pdf(pdf_dir: Path) -> Path:
    path = pdf_dir / "tagged.pdf"
    weasyprint.HTML(string=html()).write_pdf(path, pdf_variant="pdf/ua-1")
    return path


def edited_copy(source: Path, target: Path, edit) -> Path:
    """Save a copy of ``source`` to ``target`` after ``edit(pdf)`` has changed it."""
    with pikepdf.open(source) as pdf:
        edit(pdf)
        pdf.save(target)
    return target


def figures(pdf: pikepdf.Pdf) -> list[pikepdf.Object]:
    found, stack = [], list(pdf.Root.StructTreeRoot.K)
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Dictionary):
            if node.get("/S") == "/Figure":
                found.append(node)
            kids = node.get("/K")
            stack.extend(kids if isinstance(kids, pikepdf.Array) else [kids])
    return found


def test_tagged_pdfua_document_passes_everything(tagged_pdf):
    checks = check_pdf(tagged_pdf)
    assert [c.name for c in checks] == ORDER
    assert failing(checks) == set(), format_report(checks)
    found = by_name(checks)
    assert "structure tree with" in found["tagged"].detail
    assert "en-GB" in found["language"].detail
    assert "Health assets profile" in found["title"].detail
    assert "1 figure has alternative text" in found["figure-alt"].detail
    assert "embedded" in found["fonts-embedded"].detail
    assert "PDF/UA-1" in found["pdfua-identifier"].detail


def test_untagged_document_fails_tagging_checks(pdf_dir):
    path = pdf_dir / "untagged.pdf"
    weasyprint.HTML(string=html()).write_pdf(path)
    checks = by_name(check_pdf(str(path)))
    assert failing(checks.values()) == {"tagged", "marked", "display-title", "pdfua-identifier"}
    assert "untagged" in checks["tagged"].detail
    assert "MarkInfo" in checks["marked"].detail
    assert "pdfuaid:part" in checks["pdfua-identifier"].detail
    assert "no tagged figures" in checks["figure-alt"].detail


@pytest.mark.parametrize("img_alt", ["", None], ids=["empty-alt", "no-alt"])
def test_figure_without_alt_fails(pdf_dir, img_alt):
    # WeasyPrint 70 still tags such an image as /Figure, just without /Alt.
    path = pdf_dir / f"noalt-{img_alt is None}.pdf"
    weasyprint.HTML(string=html(img_alt)).write_pdf(path, pdf_variant="pdf/ua-1")
    checks = check_pdf(path)
    assert failing(checks) == {"figure-alt"}
    detail = by_name(checks)["figure-alt"].detail
    assert "1 of 1 figure has no alternative text" in detail
    assert "figure 1 on page 1" in detail


def test_role_mapped_figure_and_cyclic_tree(tagged_pdf, tmp_path):
    def edit(pdf: pikepdf.Pdf) -> None:
        tree = pdf.Root.StructTreeRoot
        tree.RoleMap = pikepdf.Dictionary(Chart=pikepdf.Name.Figure)
        (figure,) = figures(pdf)
        figure.S = pikepdf.Name.Chart
        del figure["/Alt"]
        document = tree.K[0]
        document.K.append(document)  # a cycle: the walk must not loop for ever

    checks = by_name(check_pdf(edited_copy(tagged_pdf, tmp_path / "rolemap.pdf", edit)))
    assert not checks["figure-alt"].passed
    assert "figure 1 on page 1" in checks["figure-alt"].detail
    assert checks["tagged"].passed


def test_actual_text_counts_as_alternative(tagged_pdf, tmp_path):
    def edit(pdf: pikepdf.Pdf) -> None:
        (figure,) = figures(pdf)
        del figure["/Alt"]
        figure.ActualText = pikepdf.String("Bar chart of rates")

    checks = by_name(check_pdf(edited_copy(tagged_pdf, tmp_path / "actual.pdf", edit)))
    assert checks["figure-alt"].passed


def test_missing_language_and_display_title_fail(tagged_pdf, tmp_path):
    def edit(pdf: pikepdf.Pdf) -> None:
        del pdf.Root["/Lang"]
        del pdf.Root["/ViewerPreferences"]

    checks = check_pdf(edited_copy(tagged_pdf, tmp_path / "nolang.pdf", edit))
    assert failing(checks) == {"language", "display-title"}
    found = by_name(checks)
    assert "/Lang" in found["language"].detail
    assert "file name" in found["display-title"].detail


def test_missing_title_fails(tagged_pdf, tmp_path):
    def edit(pdf: pikepdf.Pdf) -> None:
        del pdf.trailer["/Info"]
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            del meta["dc:title"]

    checks = check_pdf(edited_copy(tagged_pdf, tmp_path / "notitle.pdf", edit))
    assert failing(checks) == {"title"}
    assert "no document title" in by_name(checks)["title"].detail


def test_non_pdf_raises_reportgen_error(tmp_path):
    path = tmp_path / "profile.pdf"
    path.write_text("area,indicator,value\nE06000001,beds,12\n")
    with pytest.raises(ReportgenError, match="profile.pdf.*not a PDF"):
        check_pdf(path)


def test_damaged_or_missing_pdf_raises_reportgen_error(tmp_path):
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(b"%PDF-1.7\nthis is not really a PDF\n")
    with pytest.raises(ReportgenError, match="damaged.pdf"):
        check_pdf(damaged)
    with pytest.raises(ReportgenError, match="missing.pdf.*cannot open"):
        check_pdf(tmp_path / "missing.pdf")


def helvetica_pdf(path: Path) -> Path:
    """Page 1 uses Helvetica directly; page 2 only through a self-referencing Form XObject."""
    pdf = pikepdf.new()
    helvetica = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
    )
    text = b"BT /F1 12 Tf 20 100 Td (Hello) Tj ET"
    page = pdf.add_blank_page(page_size=(200, 200))
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=helvetica))
    page.obj.Contents = pdf.make_stream(text)
    form = pdf.make_stream(text, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form)
    form.BBox = [0, 0, 200, 200]
    form.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=helvetica), XObject=pikepdf.Dictionary(Fm0=form))
    page = pdf.add_blank_page(page_size=(200, 200))
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Fm0=form))
    page.obj.Contents = pdf.make_stream(b"/Fm0 Do")
    pdf.save(path)
    return path


def test_unembedded_standard_font_fails(tmp_path):
    checks = by_name(check_pdf(helvetica_pdf(tmp_path / "helvetica.pdf")))
    fonts = checks["fonts-embedded"]
    assert not fonts.passed
    assert "Helvetica" in fonts.detail
    assert "pages 1, 2" in fonts.detail
    assert "not embedded" in fonts.detail


def test_format_report_lines():
    checks = [
        PdfCheck("tagged", True, "structure tree with 412 elements"),
        PdfCheck("figure-alt", False, "2 of 30 figures have no alternative text"),
    ]
    assert format_report(checks).splitlines() == [
        "PASS tagged: structure tree with 412 elements",
        "FAIL figure-alt: 2 of 30 figures have no alternative text",
    ]
