"""Compose HTML from Jinja2 layouts and turn it into a tagged PDF with WeasyPrint."""

from __future__ import annotations

import atexit
import base64
import functools
import importlib.metadata
import io
import logging
import mimetypes
import os
import shutil
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError, safe_range
from jinja2.utils import Namespace
from markupsafe import Markup

from reportgen.core.errors import RenderError, ReportgenError
from reportgen.document.theme import LayoutFileError, find_layout_file, layout_file

LOGGER = logging.getLogger(__name__)
PDF_VARIANT = "pdf/ua-1"
MAX_POWER_BITS = 100_000
MAX_REPEAT = 1_000_000


class PageLimitError(RenderError):
    """A document laid out on more pages than allowed (its PDF is not written)."""

    def __init__(self, pages: int, limit: int) -> None:
        super().__init__(f"the document has {pages} pages, more than the {limit} allowed")
        self.pages = pages
        self.limit = limit

    def __reduce__(self) -> tuple[type[PageLimitError], tuple[int, int]]:  # raised in worker processes
        return PageLimitError, (self.pages, self.limit)


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
    if layouts is not None:
        check_layouts_dir(layouts)
    dirs = [layouts.resolve()] if layouts else []
    if default.resolve() not in dirs:
        dirs.append(default.resolve())
    return dirs


def check_layouts_dir(layouts: Path) -> None:
    """Refuse a ``--layouts`` value that is not a readable folder, with one clear line."""
    if not layouts.exists():
        raise RenderError(f"Layouts directory {layouts} does not exist. Pass --layouts DIR with your templates.")
    if not layouts.is_dir():
        raise RenderError(f"--layouts {layouts} is a file; pass the folder that holds theme.yaml and the templates.")
    try:
        next(os.scandir(layouts), None)
    except OSError as exc:
        raise RenderError(
            f"Layouts directory {layouts} cannot be read ({exc.strerror}); check its permissions."
        ) from None


class LayoutsLoader(jinja2.BaseLoader):
    """Templates from the layouts folders, first folder first; never a file outside its folder.

    Links are followed only when they stay inside the folder; FIFOs, devices and files over
    1 MB are refused, so a template cannot read ``/etc/passwd`` or hang the build.
    """

    def __init__(self, search_path: Sequence[Path]) -> None:
        self.search_path = [Path(d) for d in search_path]

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        pieces = split_template_path(template)  # refuses "..", like FileSystemLoader
        for directory in self.search_path:
            path = layout_file(directory, Path(*pieces))
            if path is None:
                continue
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise RenderError(f"{directory / template}: template cannot be read as UTF-8 text ({exc}).") from None
            return source, str(directory / template), functools.partial(_unchanged, path, path.stat().st_mtime)
        raise jinja2.TemplateNotFound(template)


def _unchanged(path: Path, mtime: float) -> bool:
    try:
        return path.stat().st_mtime == mtime
    except OSError:
        return False


class ValueTooLargeError(SecurityError):
    """A template tried to build a value large enough to exhaust memory."""


class LayoutsEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed Jinja2: no access to Python internals, no changing values, bounded ``*`` and ``**``."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _power_too_large(left, right):
            raise ValueTooLargeError(f"'**' making a number with more than {MAX_POWER_BITS:,} bits")
        if operator == "*" and _repeats_too_much(left, right):
            raise ValueTooLargeError(f"'*' making text or a list longer than {MAX_REPEAT:,}")
        return super().call_binop(context, operator, left, right)


def _power_too_large(left: Any, right: Any) -> bool:
    if not isinstance(left, int) or not isinstance(right, int):
        return False  # float powers overflow with an error instead of filling memory
    return abs(left) > 1 and abs(left).bit_length() * right > MAX_POWER_BITS


def _repeats_too_much(left: Any, right: Any) -> bool:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_REPEAT:
            return True
    return False


MAX_ENVIRONMENTS = 4  # layouts search paths (and media) whose compiled templates a process keeps
_ENVIRONMENTS: OrderedDict[tuple[object, ...], jinja2.Environment] = OrderedDict()
#: The media a document is rendered for: ``pdf`` (WeasyPrint reads layout files by ``file:`` URL) and
#: ``web`` (the HTML twin: one self-contained page, so a layout file is inlined as a ``data:`` URI).
MEDIA = ("pdf", "web")
#: Layout files a web page may inline (a council's logo): images only.
WEB_ASSET_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml", "image/webp")


def make_environment(search_path: Sequence[Path], medium: str = "pdf") -> jinja2.Environment:
    """Sandboxed Jinja2 environment: autoescaping on for every template, missing values are errors.

    One environment per layouts search path and medium is kept in the process, so a batch worker
    compiles each template once; the loader's up-to-date check recompiles a template whose file
    changed. In the ``web`` medium ``asset_url`` gives a ``data:`` URI (see :func:`asset_data_uri`).
    """
    if medium not in MEDIA:
        raise ValueError(f"unknown medium {medium!r}")
    for directory in search_path:
        if not directory.is_dir():
            raise RenderError(f"Layouts directory {directory} does not exist. Pass --layouts DIR with your templates.")
    key = (medium, *(Path(d).resolve() for d in search_path))
    env = _ENVIRONMENTS.get(key)
    if env is None:
        env = _ENVIRONMENTS[key] = _new_environment(search_path, medium)
        while len(_ENVIRONMENTS) > MAX_ENVIRONMENTS:
            _ENVIRONMENTS.popitem(last=False)
    _ENVIRONMENTS.move_to_end(key)
    return env


def _new_environment(search_path: Sequence[Path], medium: str = "pdf") -> jinja2.Environment:
    env = LayoutsEnvironment(
        loader=LayoutsLoader(search_path),
        autoescape=True,  # select_autoescape() would not cover .html.j2
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.clear()
    env.globals.update(range=safe_range, dict=dict, namespace=Namespace)
    folders = tuple(search_path)

    def layouts_asset_url(name: str) -> str:  # a plain function: nothing for a template to reach through
        return asset_data_uri(folders, name) if medium == "web" else asset_url(folders, name)

    env.globals["asset_url"] = layouts_asset_url
    return env


def asset_url(search_path: Sequence[Path], name: str) -> str:
    """``file:`` URL of a static layout file, from the first layouts directory that has it."""
    return _asset_path(search_path, name).as_uri()


def _asset_path(search_path: Sequence[Path], name: str) -> Path:
    try:
        found = find_layout_file(search_path, str(name))
    except LayoutFileError as exc:
        raise RenderError(f"asset_url({name!r}): {exc.message}") from None
    if found is None:
        raise RenderError(f"Layout file {name!r} not found in {', '.join(str(d) for d in search_path)}.")
    return found


def asset_data_uri(search_path: Sequence[Path], name: str) -> str:
    """A static layout image (a logo) as a ``data:`` URI, for a page that loads nothing from elsewhere."""
    path = _asset_path(search_path, name)
    kind = mimetypes.guess_type(path.name)[0] or ""
    if kind not in WEB_ASSET_TYPES:
        raise RenderError(f"asset_url({name!r}): the HTML twin inlines only images (PNG, JPEG, GIF, SVG, WebP).")
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise RenderError(f"asset_url({name!r}): {path} cannot be read ({exc.strerror}).") from None
    return f"data:{kind};base64," + base64.b64encode(payload).decode("ascii")


def trusted_html(text: str) -> Any:
    """``text`` as markup the templates print unescaped: only for HTML that reportgen itself made and checked."""
    return Markup(text)  # noqa: S704 - the callers build it from escaped parts (reportgen.document.twin)


def render_html(env: jinja2.Environment, template: str, context: dict[str, Any]) -> str:
    """Render one template to an HTML string, turning template errors into :class:`RenderError`."""
    try:
        return env.get_template(template).render(**context)
    except ReportgenError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or exc.name}:{exc.lineno}: template syntax error: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"Template {exc.name!r} not found in the layouts directories.") from None
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{_where(exc, template)}: template uses an undefined value: {exc.message}") from None
    except ValueTooLargeError as exc:
        raise RenderError(f"{_where(exc, template)}: template makes a value too large: {exc}.") from None
    except SecurityError as exc:
        raise RenderError(
            f"{_where(exc, template)}: templates may not access {_unsafe_what(exc)}; "
            "use only the values the profile passes to the templates."
        ) from None
    except Exception as exc:  # a template can raise anything Python can (1/0, bad filter arguments)
        raise RenderError(f"{_where(exc, template)}: template error: {type(exc).__name__}: {exc}") from None


def _where(exc: BaseException, template: str) -> str:
    """``file:line`` of the template line that raised ``exc`` (Jinja puts template frames in the traceback)."""
    where = template
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.endswith(".py") and not filename.startswith("<"):
            where = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def _unsafe_what(exc: SecurityError) -> str:
    return str(exc).removeprefix("access to ").removesuffix(".").removesuffix(" is unsafe")


_PRELOADS: list[threading.Thread] = []


def preload_engine() -> None:
    """Start importing WeasyPrint in a background thread, for a caller that has other work first.

    The import takes about half a second, much of it loading Pango, HarfBuzz and Fontconfig; a
    cold ``reportgen build`` loads its data and statistics meanwhile and ends about 0.3 s sooner on
    two cores. At most one thread is started; a failed import is left to the build's own import,
    which reports it.
    """
    if "weasyprint" in sys.modules or _PRELOADS:
        return
    thread = threading.Thread(target=_import_engine, name="reportgen-preload-weasyprint", daemon=True)
    _PRELOADS.append(thread)
    thread.start()


def _import_engine() -> None:
    try:
        import weasyprint  # noqa: F401
    except Exception:  # noqa: BLE001, S110 - the build imports it again and reports the problem
        pass


def pdf_engine_version() -> str:
    """The WeasyPrint version, recorded in each profile's provenance.

    Read from the installed package's metadata (the same as ``weasyprint.__version__``), so a
    national rerun with nothing to rebuild never imports WeasyPrint (about 0.4 s), and the answer
    does not depend on whether it is imported yet (it may be importing in the background).
    """
    try:
        return importlib.metadata.version("weasyprint")
    except importlib.metadata.PackageNotFoundError:
        from weasyprint import __version__

        return __version__


def font_subsetter() -> str:
    """Which font subsetter WeasyPrint uses: ``"harfbuzz"`` (libharfbuzz-subset, fast) or ``"fonttools"``."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return "harfbuzz" if harfbuzz_subset and harfbuzz.hb_version_atleast(4, 1, 0) else "fonttools"


def allowed_file(url: str, allowed_dirs: Sequence[Path]) -> Path | None:
    """The real path of a ``file:`` URL if it names a regular file inside one of ``allowed_dirs``.

    The URL is parsed properly: the host must be empty or ``localhost``, the path absolute and
    percent-decoded, and links are followed before the folder check. Anything else gives ``None``.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() != "file" or parts.netloc.lower() not in ("", "localhost"):
        return None
    path = Path(url2pathname(parts.path))
    if not path.is_absolute():
        return None
    for directory in allowed_dirs:
        try:
            found = layout_file(directory, path.relative_to(directory)) if path.is_relative_to(directory) else None
        except LayoutFileError:
            return None
        if found is not None:
            return found
    return None


def _fetcher_class() -> type[Any]:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LayoutsOnlyFetcher(URLFetcher):
        """Fetch ``data:`` URIs and files inside the layouts directories; refuse everything else.

        WeasyPrint calls :meth:`fetch` (directly, through ``__call__`` or ``open``) for stylesheets,
        ``@import``, images, SVG references, ``@font-face`` fonts and attachments.
        """

        def __init__(self, allowed_dirs: Sequence[Path], log: RenderLog) -> None:
            super().__init__(allowed_protocols={"data"}, allow_redirects=False)
            self.allowed_dirs = [d.resolve() for d in allowed_dirs]
            self.log = log

        def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
            if url.lower().startswith("data:"):
                return super().fetch(url, headers)
            path = allowed_file(url, self.allowed_dirs)
            if path is None:
                self.log.blocked.append(url)
                raise ValueError(f"refused to fetch {url!r}: only the layouts folder and data: URIs are allowed")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    return LayoutsOnlyFetcher


class _LogCapture(logging.Handler):
    def __init__(self, log: RenderLog) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log.messages.append(record.getMessage())


MAX_ENGINES = 4  # layouts search paths kept per process (a batch uses one; tests use a few)
_ENGINES: OrderedDict[tuple, PdfEngine] = OrderedDict()


def _drop_engines() -> None:
    """Remove each engine's temporary font folder, then forget the engines.

    Registered to run at exit: the command line exits without freeing its objects (see
    ``reportgen.cli.main``), so a FontConfiguration's ``__del__``, which removes the folder, may never run.
    """
    for engine in _ENGINES.values():
        folder = getattr(engine.font_config, "_folder", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    _ENGINES.clear()


atexit.register(_drop_engines)


@dataclass(frozen=True)
class PdfEngine:
    """WeasyPrint state one process reuses across documents rendered with one layouts search path.

    It holds the ``FontConfiguration``: the ``@font-face`` fonts are fetched, copied and registered
    with Fontconfig once, and Pango's font and shaping caches stay warm from one profile to the next.
    An engine belongs to one search path and one state of its files (see :func:`pdf_engine`), so
    fonts of one ``--layouts`` folder never reach a build with another.
    """

    search_path: tuple[Path, ...]
    font_config: Any


def pdf_engine(search_path: Sequence[Path]) -> PdfEngine:
    """The process's engine for these layouts folders, made on first use.

    Keyed by the resolved folders and the name, size and modification time of every file in them,
    so an edited font or stylesheet gets a fresh engine. The last :data:`MAX_ENGINES` are kept.
    """
    folders = tuple(Path(d).resolve() for d in search_path)
    key = (folders, _files_fingerprint(folders))
    engine = _ENGINES.get(key)
    if engine is None:
        from weasyprint.text.fonts import FontConfiguration

        engine = PdfEngine(folders, FontConfiguration())
        _ENGINES[key] = engine
        while len(_ENGINES) > MAX_ENGINES:
            _ENGINES.popitem(last=False)
    _ENGINES.move_to_end(key)
    return engine


def _files_fingerprint(folders: Sequence[Path]) -> tuple:
    entries = []
    for index, folder in enumerate(folders):
        for root, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(names):
                path = os.path.join(root, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                entries.append((index, os.path.relpath(path, folder), info.st_size, info.st_mtime_ns))
    return tuple(entries)


def html_to_pdf(
    html: str,
    search_path: Sequence[Path],
    *,
    created: date,
    attachments: Sequence[PdfAttachment] = (),
    identifier: bytes | None = None,
    engine: PdfEngine | None = None,
    timings: dict[str, float] | None = None,
    max_pages: int | None = None,
) -> tuple[bytes, RenderLog]:
    """Render HTML to PDF/UA-1 bytes. Only layouts files and ``data:`` URIs can be read.

    ``engine`` defaults to this process's engine for ``search_path``; ``timings``, when given,
    receives the seconds spent on layout (``"layout"``) and on writing the PDF (``"pdf"``). A
    document laid out on more than ``max_pages`` pages raises :class:`PageLimitError` before its
    PDF is written.
    """
    engine = engine or pdf_engine(search_path)
    log = RenderLog()
    fetcher = _fetcher_class()(search_path, log)
    options = {
        "pdf_variant": PDF_VARIANT,
        "pdf_identifier": identifier,
        "attachments": _attachments(attachments, created, fetcher),
        "custom_metadata": True,
        "uncompressed_pdf": False,
    }
    handler = _LogCapture(log)
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        pdf = _layout_and_write(html, search_path, fetcher, engine, options, timings, max_pages)
    except PageLimitError:
        raise
    except Exception as exc:  # WeasyPrint raises many kinds; report them as one user-facing error.
        raise RenderError(f"PDF rendering failed: {type(exc).__name__}: {exc}") from exc
    finally:
        logger.removeHandler(handler)
    return pdf, log


def _attachments(attachments: Sequence[PdfAttachment], created: date, fetcher: Any) -> list[Any]:
    import weasyprint

    stamp = datetime(created.year, created.month, created.day, tzinfo=UTC)
    return [
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


def _layout_and_write(
    html: str,
    search_path: Sequence[Path],
    fetcher: Any,
    engine: PdfEngine,
    options: dict[str, Any],
    timings: dict[str, float] | None,
    max_pages: int | None = None,
) -> bytes:
    import weasyprint

    start = time.perf_counter()
    source = weasyprint.HTML(string=html, base_url=str(search_path[0]), url_fetcher=fetcher)
    document = source.render(font_config=engine.font_config, **options)
    if max_pages is not None and len(document.pages) > max_pages:
        raise PageLimitError(len(document.pages), max_pages)
    laid_out = time.perf_counter()
    pdf = document.write_pdf(**options)
    if timings is not None:
        timings["layout"] = laid_out - start
        timings["pdf"] = time.perf_counter() - laid_out
    return pdf
