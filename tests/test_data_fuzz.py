"""Property: any mutation of a Fingertips CSV either loads or raises DataError, with printable messages."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen.core.assets import default_specs_dir
from reportgen.core.errors import DataError
from reportgen.core.specs import load_specs
from reportgen.sources.data import IndicatorData, check_against_specs, load_indicator_data

SPECS = load_specs(default_specs_dir())

BASE = (
    "\ufeffIndicator ID,Indicator Name,Parent Code,Parent Name,Area Code,AreaName,Area Type,Sex,Age,Category Type,"
    "Category,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit,Lower CI 99.8 limit,Upper CI 99.8 limit,"
    "Count,Denominator,Value note,Recent Trend,Compared to England value or percentiles,"
    "Compared to parent value or percentiles,Time period Sortable,New data,Compared to goal\r\n"
    '92313,"Employment rate\n",,,E92000001,England,England,Persons,16-64 yrs,,,2019/20,74.3,74.1,74.5,,,'
    '"104,911","141,156",,,,,20190000,,\r\n'
    "92313,Employment rate,E92000001,England,E92000001,England,England,Persons,16-64 yrs,,,2019/20,74.3,74.1,74.5,,,"
    "104911,141156,,,,,20190000,,\r\n"
    "92313,Employment rate,E12000001,North East,E06000001,Hartlepool,Counties & UAs (from Apr 2023),Persons,"
    '16-64 yrs,,,2019/20,,-1,-1,,,<div class="no-data">-</div>,-,"<b>Suppressed</b> small numbers",,'
    "Not compared,Not compared,20190000,,\r\n"
    "92313,Employment rate,E92000001,England,E12000001,North East,Region,Persons,16-64 yrs,,,2020/21,68.8,67.9,"
    "69.7,,,7029,10215,,,Worse,,20200000,,\r\n"
)

CONTROL = st.sampled_from(["\x00", "\x1b", "\x07", "\x9b", "\u202e", "\r", "\n", '"', ",", "\ufeff", "\xff"])


@st.composite
def mutated(draw) -> bytes:
    lines = BASE.split("\r\n")
    if draw(st.booleans()):  # shuffle the header's columns (rows keep their order)
        header = lines[0].split(",")
        lines[0] = ",".join(draw(st.permutations(header)))
    if draw(st.booleans()):
        lines = draw(st.lists(st.sampled_from(lines), max_size=8))
    text = "\r\n".join(lines)
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.one_of(CONTROL, st.text(max_size=4), st.sampled_from(["inf", "1e999", "0000", "-1", "1,2"])))
        text = text[:at] + piece + text[at + draw(st.integers(0, 3)) :]
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=16)) + data[at:]
    return data


def load(data: bytes) -> IndicatorData:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_bytes(data)
        return load_indicator_data(path)


def test_the_unmutated_file_loads():
    data = load(BASE.encode("utf-8"))
    assert len(data.frame) == 3 and check_against_specs(data, SPECS)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_load_or_raise_data_error(data):
    try:
        loaded = load(data)
    except DataError as exc:
        text = str(exc)
        assert text and all(c.isprintable() or c == "\n" for c in text), text
        return
    check_against_specs(loaded, SPECS)
    assert (loaded.frame["line"] >= 2).all()
