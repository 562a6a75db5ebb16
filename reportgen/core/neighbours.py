"""Similar authorities: each upper-tier authority's most similar authorities, most similar first.

The packaged set (``reportgen/data/neighbours.csv``, DfE's children's services statistical
neighbours; see reportgen/data/README.md) gives every one of the 153 authorities ten similar
authorities. A council may give its own set instead (``--neighbours FILE``, e.g. CIPFA's nearest
neighbours): a CSV file with the header ``area_code,neighbour_code`` and one row per pair, each
area's neighbours in order, most similar first. Both are read and checked by
:func:`load_neighbours`: a regular UTF-8 text file of at most :data:`MAX_BYTES`, the exact header,
current upper-tier codes (an abolished authority with one successor is mapped to it, with a
warning), no area paired with itself, no pair twice, from :data:`MIN_NEIGHBOURS` to
:data:`MAX_NEIGHBOURS` neighbours per listed area. Every problem names the file, the line and the
column; an authority the file does not list is allowed (its profile shows no similar-authorities
comparison) and reported as one warning.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from reportgen.core.assets import reference_table
from reportgen.core.errors import InputFileError, Problem, errors_only, printable
from reportgen.core.geography import Area, Geography, area_kind
from reportgen.core.readers import read_capped

#: The packaged set in ``reportgen/data``.
DEFAULT_FILE = "neighbours.csv"
HEADER = ("area_code", "neighbour_code")
#: Fewest and most neighbours an area may have (a group of fewer than three compares with too little).
MIN_NEIGHBOURS = 3
MAX_NEIGHBOURS = 30
#: 153 areas x 30 neighbours is about 100 KB; anything much larger is not a neighbours file.
MAX_BYTES = 1_000_000
#: Errors listed before the rest are only counted.
MAX_ERRORS = 50
#: Quoted cells are shortened to this many characters.
MAX_QUOTED = 40


@dataclass(frozen=True)
class Neighbours:
    """Each area's similar authorities (ONS codes, most similar first), where they came from, and warnings."""

    sets: dict[str, tuple[str, ...]] = field(hash=False)
    source: str
    warnings: tuple[Problem, ...] = ()
    packaged: bool = False

    def of(self, code: str) -> tuple[str, ...]:
        """The similar authorities of ``code``, most similar first (empty when the file does not list it)."""
        return self.sets.get(code, ())

    def __contains__(self, code: object) -> bool:
        return code in self.sets

    def __len__(self) -> int:
        return len(self.sets)


def default_neighbours_path() -> Path:
    """Path of the packaged neighbour set."""
    return reference_table(DEFAULT_FILE)


def load_neighbours(path: Path | None, geography: Geography) -> Neighbours:
    """Read and check a neighbours CSV (``None``: the packaged set); raises :class:`InputFileError`.

    The error's message is the first problem on one line (``FILE:LINE: COLUMN: what is wrong and
    what to do``); with more than one problem the message counts them and ``problems`` lists each.
    """
    packaged = path is None
    file = default_neighbours_path() if path is None else Path(path)
    text = _read_text(file)
    checker = _Checker(str(file), geography)
    problems = checker.check(text)
    errors = errors_only(problems)
    if errors:
        if len(errors) == 1:
            raise InputFileError(str(errors[0]))
        count = f"more than {MAX_ERRORS} problems (the first {MAX_ERRORS} are listed)"
        if len(errors) <= MAX_ERRORS:
            count = f"{len(errors)} problems"
        raise InputFileError(f"{file}: {count} in the neighbours file; fix them and run again.", errors[:MAX_ERRORS])
    return Neighbours(checker.sets(), str(file), tuple(problems), packaged)


def _read_text(file: Path) -> str:
    """The UTF-8 text of a regular file of at most :data:`MAX_BYTES` (a link is followed: it is the user's file)."""
    data = read_capped(file, MAX_BYTES, follow_links=True)
    if data is None:
        raise InputFileError(f"{file}: the neighbours file does not exist; check the path given to --neighbours.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputFileError(
            f"{file}:{line}: not UTF-8 text (byte {exc.start:,}: {exc.reason}); is it a spreadsheet or a binary "
            "file? Save it as CSV (UTF-8)."
        ) from None


def _quote(cell: str) -> str:
    shown = cell if len(cell) <= MAX_QUOTED else cell[: MAX_QUOTED - 3] + "..."
    return f"'{printable(shown)}'"


class _Checker:
    """Checks one file's text and collects its problems and sets."""

    def __init__(self, label: str, geography: Geography) -> None:
        self.label = label
        self.geography = geography
        self.current = {a.code: a for a in geography.authorities}
        self.problems: list[Problem] = []
        self.lists: dict[str, list[tuple[str, int]]] = {}  # area -> [(neighbour, line)]
        self.first_line: dict[str, int] = {}
        self.seen: dict[tuple[str, str], int] = {}
        self.mapped: dict[str, str] = {}  # predecessor code -> successor code, warned once each
        self.faulty: set[str] = set()  # areas with a refused row: their count would only repeat it

    def error(self, line: int, column: str, message: str) -> None:
        self.problems.append(Problem(f"{self.label}:{line}", column, message))

    def check(self, text: str) -> list[Problem]:
        if "\x00" in text:
            line = text.count("\n", 0, text.index("\x00")) + 1
            self.error(line, "", "holds NUL bytes: a binary file, not CSV text; give a CSV file saved as UTF-8 text")
            return self.problems
        if not text.strip():
            self.error(1, "", f"the file is empty; its first line must be the header {','.join(HEADER)}")
            return self.problems
        reader = csv.reader(text.splitlines(keepends=True))
        try:
            header = next(reader)
        except csv.Error as exc:
            self.error(1, "", f"not a readable CSV header ({exc}); the first line must be {','.join(HEADER)}")
            return self.problems
        if tuple(cell.strip() for cell in header) != HEADER:
            found = ",".join(printable(cell[:MAX_QUOTED]) for cell in header[:5])
            self.error(1, "", f"the header is {found!r}; it must be exactly {','.join(HEADER)} (one row per pair)")
            return self.problems
        previous_end = reader.line_num
        try:
            for row in reader:  # a row is named by the line it starts on (a quoted cell may span lines)
                start, previous_end = previous_end + 1, reader.line_num
                self.row(start, row)
                if len(errors_only(self.problems)) > MAX_ERRORS:
                    break
        except csv.Error as exc:
            self.error(previous_end + 1, "", f"not a readable CSV record ({exc}); check for an unclosed quote")
            return self.problems
        if not self.lists and not errors_only(self.problems):
            self.error(1, "", "the file has a header but no rows; add one row per pair: area_code,neighbour_code")
        self.counts()
        self.problems.sort(key=_line_of)  # in the file's order (stable: a line's problems keep theirs)
        if not errors_only(self.problems):
            self.missing()
        return self.problems

    def sets(self) -> dict[str, tuple[str, ...]]:
        """Each listed area's neighbours in the file's order, areas in code order."""
        return {area: tuple(code for code, _ in pairs) for area, pairs in sorted(self.lists.items())}

    def row(self, line: int, row: list[str]) -> None:
        if not any(cell.strip() for cell in row):
            return  # a blank line
        if len(row) != len(HEADER):
            self.error(line, "", f"has {len(row)} column(s); give two: area_code,neighbour_code")
            return
        area = self.code(line, HEADER[0], row[0])
        neighbour = self.code(line, HEADER[1], row[1])
        if area is not None and neighbour is None:
            self.faulty.add(area)
        if area is None or neighbour is None:
            return
        if area == neighbour:
            self.faulty.add(area)
            self.error(line, HEADER[1], f"{self.describe(area)} is paired with itself; remove this row")
            return
        if (area, neighbour) in self.seen:
            self.faulty.add(area)
            earlier = self.seen[(area, neighbour)]
            self.error(
                line,
                HEADER[1],
                f"{self.describe(neighbour)} is listed twice for {self.describe(area)} (first on line {earlier}); "
                "keep one row per pair",
            )
            return
        self.seen[(area, neighbour)] = line
        self.first_line.setdefault(area, line)
        self.lists.setdefault(area, []).append((neighbour, line))

    def code(self, line: int, column: str, cell: str) -> str | None:
        """The current authority code of ``cell``, mapping an abolished one; ``None`` after an error."""
        code = cell.strip().upper()
        if "\n" in code or "\r" in code:
            self.error(line, column, f'{_quote(cell.strip())} spans several lines: is a quote (") left open?')
            return None
        if not code:
            self.error(line, column, "is empty; give the ONS code of an upper-tier authority, such as E06000001")
            return None
        if code in self.current:
            return code
        area = self.geography.lookup(code) if code.isascii() and code.isalnum() else None
        if area is not None and not area.current and area.kind == "UTLA":
            successors = _successors(code)
            if len(successors) == 1:
                if code not in self.mapped:
                    self.mapped[code] = successors[0]
                    self.problems.append(
                        Problem(
                            f"{self.label}:{line}",
                            column,
                            f"{code} ({area.name}) was abolished; read as its successor {self.describe(successors[0])}",
                            "warning",
                        )
                    )
                return successors[0]
            named = " and ".join(self.describe(s) for s in successors) or "other authorities"
            self.error(line, column, f"{code} ({area.name}) was abolished and split into {named}; list those instead")
            return None
        kind = area_kind(code)
        what = {"England": "England, not an authority", "Region": "a region, not an authority"}.get(kind)
        hint = "give the ONS code of an upper-tier authority (run `reportgen areas` to list them)"
        if what:
            self.error(line, column, f"{_quote(cell.strip())} is {what}; {hint}")
        else:
            self.error(line, column, f"{_quote(cell.strip())} is not a current upper-tier authority code; {hint}")
        return None

    def describe(self, code: str) -> str:
        area: Area | None = self.current.get(code)
        return f"{code} ({area.name})" if area else code

    def counts(self) -> None:
        for area, pairs in self.lists.items():
            if len(pairs) < MIN_NEIGHBOURS and area not in self.faulty:
                self.error(
                    self.first_line[area],
                    HEADER[0],
                    f"{self.describe(area)} has {len(pairs)} neighbour(s); give at least {MIN_NEIGHBOURS} "
                    "(or none: an authority left out gets no similar-authorities comparison)",
                )
            elif len(pairs) > MAX_NEIGHBOURS:
                self.error(
                    pairs[MAX_NEIGHBOURS][1],
                    HEADER[0],
                    f"{self.describe(area)} has {len(pairs)} neighbours; give at most {MAX_NEIGHBOURS}, "
                    "the most similar first",
                )

    def missing(self) -> None:
        absent = [a for a in self.geography.authorities if a.code not in self.lists]
        if not absent:
            return
        shown = ", ".join(f"{a.code} {a.name}" for a in absent[:5])
        more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
        self.problems.append(
            Problem(
                self.label,
                "",
                f"{len(absent)} of the {len(self.geography.authorities)} authorities have no similar authorities "
                f"here ({shown}{more}); their profiles show no similar-authorities comparison",
                "warning",
            )
        )


def _line_of(problem: Problem) -> int:
    line = problem.where.rpartition(":")[2]
    return int(line) if line.isdigit() else 0


def _successors(code: str) -> list[str]:
    """The successor codes of an abolished authority, from ``utla_predecessors.csv``."""
    with reference_table("utla_predecessors.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["area_code"] == code:
                return row["successor_codes"].split()
    return []
