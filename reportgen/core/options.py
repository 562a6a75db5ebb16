"""The options of a build, shared by every stage that reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

#: What the data is called when no ``--data`` is given and the embedded demonstration data are used.
EMBEDDED_DEMO_LABEL = "<embedded demonstration data>"
#: The PDF author when ``--author`` is not given.
DEFAULT_AUTHOR = "reportgen"


@dataclass(frozen=True)
class BuildOptions:
    """Options of a profile build; ``None`` means the packaged default."""

    specs_dir: Path | None = None
    layouts_dir: Path | None = None
    out_dir: Path = Path("output")
    edition: str | None = None
    data_date: date | None = None
    author: str | None = None
    palette: str | None = None
    comparator_path: Path | None = None
    neighbours_path: Path | None = None  # a council's similar authorities (--neighbours), checked by the CLI
    allow_empty: bool = False
    brief: bool = False  # also the board brief beside the full profile
    data_csv: bool = False  # also the area's data as CSV (the national run publishes it)
    html: bool = True  # also the HTML twin: the profile as one accessible web page, <code>-<slug>.html
