"""``reportgen build --area``: one authority's profile, from the same path as the national run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen.core.errors import Problem
from reportgen.core.files import EditionLock, sweep_edition
from reportgen.core.geography import Area
from reportgen.core.memory import rare_collections
from reportgen.core.options import BuildOptions
from reportgen.document.inputs import Prepared
from reportgen.document.render import preload_engine
from reportgen.publish import changes as ch
from reportgen.publish.area import output_names, render_area
from reportgen.publish.prepare import DataPaths, check_area, prepare, resolve_area
from reportgen.publish.tables import benchmark_bytes
from reportgen.publish.write import reserve_area


@dataclass(frozen=True)
class BuildResult:
    """A written profile and the warnings raised while building it."""

    path: Path
    area: Area
    warnings: tuple[Problem, ...] = field(default=())
    brief_path: Path | None = None
    html_path: Path | None = None


def build_profile(area_text: str, data_paths: DataPaths, options: BuildOptions) -> BuildResult:
    """Build one authority's profile: data -> statistics -> charts -> HTML -> PDF, written atomically.

    The output files are reserved (folder created, temporary files opened) before rendering, so an
    unwritable output fails at once; temporary files are removed on every failure. Like the
    national run, the build holds the edition folder's lock while it writes there, and its
    temporary files are in the edition's work folder, never in the edition folder.
    """
    preload_engine()  # WeasyPrint imports in the background while the data load
    with rare_collections():
        prepared = prepare(data_paths, options)
        area = resolve_area(area_text, prepared.data)
        check_area(prepared, area)
        names = output_names(prepared.edition, area)
        wanted = names.wanted(options.brief, options.html)
        folder = options.out_dir / prepared.edition
        with EditionLock(folder) as lock:
            sweep_edition(folder)
            with reserve_area(folder, wanted, options.out_dir, lock.work) as reservation:
                built = render_area(prepared, area, area_changes(options.out_dir, prepared, area))
                paths = reservation.commit(built.files)
    warnings = tuple(dict.fromkeys((*prepared.warnings, *built.warnings)))
    return BuildResult(paths[names.profile], area, warnings, paths.get(names.brief), paths.get(names.html))


def area_changes(out_dir: Path, prepared: Prepared, area: Area) -> dict[str, Any]:
    """What has changed for one area since the latest earlier edition in ``out_dir`` (as a national
    run finds it), or what the profile says when there is none: never "first edition" on a guess."""
    edition = prepared.edition
    previous_dir = ch.find_previous(out_dir, edition, None)
    if previous_dir is None:
        return ch.no_earlier_edition(out_dir, edition)
    label = ch.previous_label(previous_dir)
    path = previous_dir / ch.BENCHMARK_FILE
    previous = ch.read_benchmark_csv(path, str(path))
    mine = prepared.table[prepared.table["area_code"] == area.code]
    current = ch.read_benchmark_csv(benchmark_bytes(mine, "csv"), "current benchmark table")
    previous = previous[previous["area_code"] == area.code]
    found = ch.compare_editions(previous, current, ch.read_previous_specs(previous_dir), prepared.specs)
    return ch.changes_by_area(found, label, [area.code])[area.code] or ch.no_earlier_edition(out_dir, edition)
