"""Compose HTML from Jinja2 layouts and turn it into a tagged PDF with WeasyPrint."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2

from .errors import RenderError

LOGGER = logging.getLogger(__name__)
PDF_VARIANT = "pdf/ua-1"


@dataclass(frozen=True)
class PdfAttachment:
    """A file embedded in the PDF (data behind the profile, provenance)."""

    name: str
    payload: bytes
    description: str
    relationship: str = "Data"


@dataclass
class RenderLog:
    """Resources WeasyPrint was refused and messages it logged during one render."""

    blocked: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def layout_search_path(layouts: Path | None, default: Path) -> list[Path]:
    """User layouts first (they override single files), then the packaged layouts."""
    dirs = [layouts.resolve()] if layouts else []
    if default.resolve() not in dirs:
        dirs.append(default.resolve())
    return dirs


def make_environment(search_path: Sequence[Path]) -> jinja2.Environment:
    """Jinja2 environment: autoescaping on for every template, missing values are errors."""
    for directory in search_path:
        if not directory.is_dir():
            raise RenderError(f"Layouts directory {directory} does not exist. Pass --layouts DIR with your templates.")
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in search_path]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["asset_url"] = lambda name: asset_url(search_path, name)
    return env


def asset_url(search_path: Sequence[Path], name: str) -> str:
    """``file:`` URL of a static layout file, from the first layouts directory that has it."""
    for directory in search_path:
        candidate = (directory / name).resolve()
        if candidate.is_file() and _inside(candidate, directory):
            return candidate.as_uri()
    raise RenderError(f"Layout file {name!r} not found in {', '.join(str(d) for d in search_path)}.")


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def render_html(env: jinja2.Environment, template: str, context: dict[str, Any]) -> str:
    """Render one template to an HTML string, turning template errors into :class:`RenderError`."""
    try:
        return env.get_template(template).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or exc.name}:{exc.lineno}: template syntax error: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"Template {exc.name!r} not found in the layouts directories.") from None
    except jinja2.UndefinedError as exc:
        raise RenderError(f"Template {template!r} uses an undefined value: {exc.message}") from None


def pdf_engine_version() -> str:
    """The WeasyPrint version, recorded in each profile's provenance."""
    from weasyprint import __version__

    return __version__


def _fetcher_class():
    from weasyprint.urls import URLFetcher

    class LayoutsOnlyFetcher(URLFetcher):
        """Fetch ``data:`` URIs and files inside the layouts directories; refuse everything else."""

        def __init__(self, allowed_dirs: Sequence[Path], log: RenderLog) -> None:
            super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
            self.allowed_dirs = [d.resolve() for d in allowed_dirs]
            self.log = log

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("file:"):
                from urllib.request import url2pathname

                path = Path(url2pathname(url.split("?")[0].split("#")[0].removeprefix("file://")))
                if any(_inside(path, d) for d in self.allowed_dirs):
                    return super().fetch(url, headers)
            self.log.blocked.append(url)
            raise ValueError(f"refused to fetch {url!r}: only the layouts folder and data: URIs are allowed")

    return LayoutsOnlyFetcher


class _LogCapture(logging.Handler):
    def __init__(self, log: RenderLog) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log.messages.append(record.getMessage())


def html_to_pdf(
    html: str,
    search_path: Sequence[Path],
    *,
    created: date,
    attachments: Sequence[PdfAttachment] = (),
    identifier: bytes | None = None,
) -> tuple[bytes, RenderLog]:
    """Render HTML to PDF/UA-1 bytes. Only layouts files and ``data:`` URIs can be read."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    log = RenderLog()
    fetcher = _fetcher_class()(search_path, log)
    stamp = datetime(created.year, created.month, created.day, tzinfo=UTC)
    files = [
        weasyprint.Attachment(
            file_obj=io.BytesIO(a.payload),
            name=a.name,
            description=a.description,
            created=stamp,
            modified=stamp,
            relationship=a.relationship,
            url_fetcher=fetcher,
        )
        for a in attachments
    ]
    handler = _LogCapture(log)
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        fonts = FontConfiguration()
        document = weasyprint.HTML(string=html, base_url=str(search_path[0]), url_fetcher=fetcher)
        pdf = document.write_pdf(
            font_config=fonts,
            pdf_variant=PDF_VARIANT,
            pdf_identifier=identifier,
            attachments=files,
            custom_metadata=True,
            uncompressed_pdf=False,
        )
    except Exception as exc:  # WeasyPrint raises many kinds; report them as one user-facing error.
        raise RenderError(f"PDF rendering failed: {type(exc).__name__}: {exc}") from exc
    finally:
        logger.removeHandler(handler)
    return pdf, log
