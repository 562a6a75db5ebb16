"""Indicator specs: one YAML file per indicator, validated with every problem located by line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reportgen.core.errors import InputFileError, Problem, SpecError
from reportgen.core.yamlsafe import parse_yaml, read_text_file

DOMAINS: tuple[str, ...] = (
    "Economy",
    "Education and skills",
    "Health",
    "Place",
    "Community assets",
    "Support",
    "Well-being",
)
VALUE_TYPES = (
    "proportion",
    "crude_rate",
    "dsr",
    "isr",
    "mean",
    "score",
    "count",
    "ratio",
    "life_expectancy",
)
POLARITIES = ("high_is_good", "low_is_good", "no_judgement", "not_applicable")
COMPARISONS = ("ci95", "ci998", "ci95_998", "quintiles", "none")
PERIOD_KINDS = ("calendar", "financial", "academic", "calendar_3yr", "financial_3yr")

ValueType = Literal["proportion", "crude_rate", "dsr", "isr", "mean", "score", "count", "ratio", "life_expectancy"]
Polarity = Literal["high_is_good", "low_is_good", "no_judgement", "not_applicable"]
Comparison = Literal["ci95", "ci998", "ci95_998", "quintiles", "none"]
Domain = Literal["Economy", "Education and skills", "Health", "Place", "Community assets", "Support", "Well-being"]
PeriodKind = Literal["calendar", "financial", "academic", "calendar_3yr", "financial_3yr"]

ID_PATTERN = r"^[a-z0-9][a-z0-9_]*$"


#: Longest accepted text of the free-text keys (characters).
TEXT_LIMITS = {"name": 200, "short_name": 60, "definition": 2000, "rationale": 2000, "source": 2000, "caveats": 2000}
MAX_MULTIPLIER = 1_000_000
MAX_SPEC_BYTES = 100_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class DemoModel(_Strict):
    """Parameters of the synthetic demonstration data for one indicator."""

    england: float = Field(description="England value in the latest period, on the display scale")
    spread: float = Field(ge=0, description="standard deviation between authorities")
    trend: float = Field(default=0.0, description="change in England value per period")
    base: Literal["survey", "population", "cohort", "service_users", "earnings"] = "survey"
    size: float = Field(gt=0, description="sample size, or share of the population counted")
    deprivation: float = Field(default=0.0, ge=-1, le=1, description="loading on area deprivation")
    periods: PeriodKind = "financial"
    sd: float | None = Field(default=None, gt=0, description="individual-level SD for means")


class DeriveModel(_Strict):
    """A series derived from a published one, e.g. the complement of a Fingertips proportion."""

    from_: int = Field(alias="from", gt=0, description="Fingertips indicator id of the source series")
    transform: Literal["complement"]
    sex: str | None = Field(default=None, min_length=1, description="source sex, if not the spec's")
    age: str | None = Field(default=None, min_length=1, description="source age, if not the spec's")


#: Publishers a ``source`` mapping may name.
PUBLISHERS = ("ons-els",)
ELS_SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"


class SourceModel(_Strict):
    """A published series from a second publisher: ``source: {publisher: ons-els, dataset, indicator}``."""

    publisher: Literal["ons-els"]
    dataset: str = Field(pattern=ELS_SLUG_PATTERN, max_length=100, description="ELS dataset slug (its folder)")
    indicator: str = Field(min_length=1, max_length=200, description="ELS indicator code or name in the dataset")
    attribution: str = Field(default="", max_length=TEXT_LIMITS["source"], description="source text, if not ONS's")


SourceText = Annotated[str, Field(min_length=1, max_length=TEXT_LIMITS["source"])]


class SpecModel(_Strict):
    """Schema of an indicator spec file; see the README for every key."""

    id: str = Field(pattern=ID_PATTERN)
    fingertips_id: int | None = Field(default=None, gt=0)
    name: str = Field(min_length=1, max_length=TEXT_LIMITS["name"])
    short_name: str = Field(min_length=1, max_length=TEXT_LIMITS["short_name"])
    domain: Domain
    definition: str = Field(min_length=1, max_length=TEXT_LIMITS["definition"])
    rationale: str = Field(min_length=1, max_length=TEXT_LIMITS["rationale"])
    source: SourceText | SourceModel = Field(union_mode="left_to_right")
    unit: str
    decimals: int = Field(ge=0, le=4)
    value_type: ValueType
    multiplier: float = Field(gt=0, le=MAX_MULTIPLIER)
    polarity: Polarity
    comparison: Comparison
    sex: str = Field(min_length=1, max_length=100)
    age: str = Field(min_length=1, max_length=100)
    order: int = Field(default=100, ge=0, le=1_000_000)
    caveats: str = Field(default="", max_length=TEXT_LIMITS["caveats"])
    licence: str = Field(default="Open Government Licence v3.0", max_length=200)
    source_url: str = Field(default="", max_length=500)
    provides_population: bool = False
    demo: DemoModel | None = None
    derive: DeriveModel | None = None
    fingertips_area_type: int | None = Field(default=None, gt=0, description="area type to fetch, if not 502")

    @field_validator("unit")
    @classmethod
    def _unit_text(cls, value: str) -> str:
        if len(value) > 30:
            raise ValueError("must be at most 30 characters (e.g. '%', 'per 100,000', 'years')")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SpecModel:
        if self.value_type == "proportion" and self.multiplier not in (1, 100, 1000):
            raise ValueError("multiplier: a proportion needs multiplier 1, 100 (percentage) or 1000")
        if self.derive is not None and self.fingertips_id is not None:
            raise ValueError("derive: give either fingertips_id (a published series) or derive, not both")
        if isinstance(self.source, SourceModel) and (self.fingertips_id is not None or self.derive is not None):
            raise ValueError(
                "source: a spec fed by ONS Explore Local Statistics (source: {publisher: ons-els, ...}) "
                "cannot also have fingertips_id or derive; remove one"
            )
        if self.derive is not None and self.value_type != "proportion":
            raise ValueError("derive: transform 'complement' is for proportions; set value_type: proportion")
        return self


_SOURCE_FORM = "{publisher: ons-els, dataset: <slug>, indicator: <ELS indicator code or name>}"


@dataclass(frozen=True)
class ElsSource:
    """Where an ONS Explore Local Statistics series is: ``{base}/{dataset}/{dataset}.csv``, one indicator."""

    dataset: str
    indicator: str

    @property
    def publisher(self) -> str:
        return "ons-els"


@dataclass(frozen=True)
class DemoParams:
    """Synthetic-data parameters (see :class:`DemoModel`)."""

    england: float
    spread: float
    trend: float
    base: str
    size: float
    deprivation: float
    periods: str
    sd: float | None


@dataclass(frozen=True)
class DeriveParams:
    """How a spec's series is derived from a published one (see :class:`DeriveModel`)."""

    source_id: int
    transform: str
    sex: str
    age: str


@dataclass(frozen=True)
class IndicatorSpec:
    """A validated indicator spec; everything downstream uses this, never raw YAML."""

    id: str
    fingertips_id: int | None
    name: str
    short_name: str
    domain: str
    definition: str
    rationale: str
    source: str
    unit: str
    decimals: int
    value_type: str
    multiplier: float
    polarity: str
    comparison: str
    sex: str
    age: str
    order: int
    caveats: str
    licence: str
    source_url: str
    provides_population: bool
    demo: DemoParams | None
    path: str
    derive: DeriveParams | None = None
    fingertips_area_type: int | None = None
    els: ElsSource | None = None

    @property
    def source_key(self) -> str:
        """The ``Indicator ID`` the data comes from: the derive source, else :attr:`data_key`."""
        return str(self.derive.source_id) if self.derive else self.data_key

    @property
    def derivation_note(self) -> str:
        """How the figure was derived, for the definitions page ('' for a published series)."""
        if self.derive is None:
            return ""
        return (
            f"Derived by reportgen as {self.multiplier:g} minus the value of Fingertips indicator "
            f"{self.derive.source_id} ({self.derive.sex}, {self.derive.age}); the confidence limits are "
            "complemented and swapped, and the count is the denominator minus the published count."
        )

    @property
    def data_key(self) -> str:
        """The ``Indicator ID`` this spec selects: its Fingertips id, or its own id (local and ELS data)."""
        return str(self.fingertips_id) if self.fingertips_id is not None else self.id

    @property
    def series(self) -> tuple[str, str, str]:
        """(indicator id, sex, age): the one data series this spec selects."""
        return (self.data_key, self.sex, self.age)


ALLOWED_KEYS = tuple(SpecModel.model_fields)

_CHOICES = {
    "domain": DOMAINS,
    "value_type": VALUE_TYPES,
    "polarity": POLARITIES,
    "comparison": COMPARISONS,
    "demo.periods": PERIOD_KINDS,
}


def load_specs(directory: Path | str) -> list[IndicatorSpec]:
    """Load and validate every ``*.yaml`` spec in ``directory``.

    Every problem in every file is collected first; if there are any, one :class:`SpecError`
    carrying all of them is raised. Specs are returned in domain order, then ``order``, then id.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise SpecError(f"Spec directory {directory} does not exist. Pass --specs DIR with a folder of *.yaml files.")
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise SpecError(f"No indicator specs (*.yaml) found in {directory}.")
    specs: list[IndicatorSpec] = []
    problems: list[Problem] = []
    for path in paths:
        spec, found = _load_one(path, directory)
        problems.extend(found)
        if spec is not None:
            specs.append(spec)
    problems.extend(_cross_file_problems(specs))
    if problems:
        raise SpecError(f"{len(problems)} problem(s) in the indicator specs in {directory}:", problems)
    return sorted(specs, key=lambda s: (DOMAINS.index(s.domain), s.order, s.id))


def _outside_folder(path: Path, directory: Path) -> Problem | None:
    """A spec that is a link resolving outside its folder is refused (it could point anywhere)."""
    try:
        target = path.resolve(strict=True)
        inside = directory.resolve() in target.parents
    except (OSError, RuntimeError):
        return None  # loops and dangling links are reported by read_text_file
    if inside:
        return None
    return Problem(f"{path}:1:1", "", f"is a link to {target}, outside the specs folder; copy the file into the folder")


def _load_one(path: Path, directory: Path | None = None) -> tuple[IndicatorSpec | None, list[Problem]]:
    outside = _outside_folder(path, directory) if directory is not None else None
    if outside is not None:
        return None, [outside]
    try:
        root, data = parse_yaml(read_text_file(path, max_bytes=MAX_SPEC_BYTES, what="spec"), str(path))
    except InputFileError as exc:
        return None, [exc.problem]  # type: ignore[attr-defined]
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        return None, [Problem(f"{path}:1:1", "", "a spec must be a YAML mapping of keys to values")]
    problems = _duplicate_key_problems(path, root)
    try:
        model = SpecModel.model_validate(data)
    except ValidationError as exc:
        problems.extend(_translate(path, root, err) for err in _source_errors(exc.errors(), data.get("source")))
        return None, problems
    if model.id != path.stem:
        problems.append(
            Problem(
                _where(path, root, ("id",)),
                "id",
                f"'{model.id}' does not match the file name '{path.stem}.yaml'; rename one of them",
            )
        )
    return (None if problems else _freeze(model, path)), problems


def _source_errors(errors: list[Any], given: Any) -> list[Any]:
    """Errors with the ``source`` union's branch names removed, only from the branch the value took.

    ``source`` is text (the attribution of a Fingertips or local series) or a mapping naming an
    ELS series; a mapping is reported against the mapping's keys, anything else as text.
    """
    kept: list[Any] = []
    branch = "SourceModel" if isinstance(given, dict) else "constrained-str"
    for err in errors:
        loc = tuple(err["loc"])
        if loc[:1] == ("source",) and len(loc) > 1 and loc[1] in ("constrained-str", "SourceModel"):
            if loc[1] != branch:
                continue
            err = dict(err, loc=("source", *loc[2:]))
            if branch == "constrained-str" and err["type"] == "string_type":
                err = dict(err, type="value_error", msg=f"must be text, or a mapping {_SOURCE_FORM}")
        kept.append(err)
    return kept


def _freeze(model: SpecModel, path: Path) -> IndicatorSpec:
    fields = model.model_dump(exclude={"demo", "derive", "source"})
    demo = DemoParams(**model.demo.model_dump()) if model.demo else None
    source, els = model.source, None
    if isinstance(source, SourceModel):
        els = ElsSource(source.dataset, " ".join(source.indicator.split()))
        source = source.attribution or (
            f"Office for National Statistics, Explore Local Statistics (dataset '{source.dataset}', "
            f"indicator '{els.indicator}'); the original source is named in the dataset's metadata"
        )
    return IndicatorSpec(**fields, source=source, demo=demo, path=str(path), derive=_derive_params(model), els=els)


def _derive_params(model: SpecModel) -> DeriveParams | None:
    if model.derive is None:
        return None
    d = model.derive
    return DeriveParams(d.from_, d.transform, d.sex or model.sex, d.age or model.age)


def _cross_file_problems(specs: list[IndicatorSpec]) -> list[Problem]:
    problems: list[Problem] = []
    seen_ids: dict[str, IndicatorSpec] = {}
    seen_series: dict[tuple[str, str, str], IndicatorSpec] = {}
    for spec in specs:
        if spec.id in seen_ids:
            problems.append(
                Problem(f"{spec.path}:1:1", "id", f"duplicate id '{spec.id}', also used by {seen_ids[spec.id].path}")
            )
        seen_ids.setdefault(spec.id, spec)
        if spec.series in seen_series:
            other = seen_series[spec.series]
            problems.append(
                Problem(
                    f"{spec.path}:1:1",
                    "fingertips_id",
                    f"selects the same data series (indicator {spec.data_key}, {spec.sex}, {spec.age}) "
                    f"as {other.path}; "
                    "change sex or age, or remove one spec",
                )
            )
        seen_series.setdefault(spec.series, spec)
    return problems


def _duplicate_key_problems(path: Path, node: yaml.MappingNode, prefix: str = "") -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for key_node, value_node in node.value:
        key = f"{prefix}{key_node.value}"
        if key in seen:
            mark = key_node.start_mark
            problems.append(
                Problem(f"{path}:{mark.line + 1}:{mark.column + 1}", key, "key appears more than once; keep one")
            )
        seen.add(key)
        if isinstance(value_node, yaml.MappingNode):
            problems.extend(_duplicate_key_problems(path, value_node, key + "."))
    return problems


def _find_node(root: yaml.Node, loc: Iterable[Any], want_key: bool) -> yaml.Node:
    """Walk the composed YAML to the node at ``loc`` (the key node if ``want_key``)."""
    node = root
    loc = list(loc)
    for i, part in enumerate(loc):
        if not isinstance(node, yaml.MappingNode):
            break
        match = [(k, v) for k, v in node.value if k.value == str(part)]
        if not match:
            break
        key_node, value_node = match[-1]
        node = key_node if (want_key and i == len(loc) - 1) else value_node
    return node


def _where(path: Path, root: yaml.Node, loc: Iterable[Any], want_key: bool = False) -> str:
    mark = _find_node(root, loc, want_key).start_mark
    return f"{path}:{mark.line + 1}:{mark.column + 1}"


def _translate(path: Path, root: yaml.Node, err: Any) -> Problem:
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc)
    kind = err["type"]
    given = err.get("input")
    if kind == "missing":
        return Problem(_where(path, root, loc[:-1]), key, f"required key is missing; add '{loc[-1]}: ...'")
    if kind == "extra_forbidden":
        nested = {
            "demo": tuple(DemoModel.model_fields),
            "derive": ("from", "transform", "sex", "age"),
            "source": tuple(SourceModel.model_fields),
        }
        allowed = ", ".join(ALLOWED_KEYS if len(loc) == 1 else nested.get(loc[0], ()))
        return Problem(_where(path, root, loc, want_key=True), key, f"unknown key; allowed keys are: {allowed}")
    where = _where(path, root, loc)
    if key == "source.dataset" and kind == "string_pattern_mismatch":
        return Problem(
            where,
            key,
            f"must be an ELS dataset slug: lower-case letters, digits and hyphens, as the dataset's folder "
            f"is named (e.g. library-walk) (got {given!r})",
        )
    if kind == "literal_error":
        choices = _CHOICES.get(key) or err.get("ctx", {}).get("expected", "")
        listed = ", ".join(choices) if isinstance(choices, tuple) else str(choices)
        return Problem(where, key, f"{given!r} is not allowed; use one of: {listed}")
    if kind == "value_error" and not loc:
        msg = str(err["msg"]).removeprefix("Value error, ")
        sub, _, text = msg.partition(": ")
        return Problem(_where(path, root, [sub]), sub, text)
    return Problem(where, key, _message_for(kind, err, given))


def _plain(number: Any) -> str:
    """A bound as written in the README: 1000000, not 1000000.0 or 1e+06."""
    return str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)


def _message_for(kind: str, err: Any, given: Any) -> str:
    ctx = err.get("ctx", {})
    shown = f" (got {given!r})" if given is not None and not isinstance(given, dict | list) else ""
    if kind == "string_too_long":
        shown = ""  # the length is in the message; the text itself can be very long
    messages = {
        "int_type": "must be a whole number",
        "float_type": "must be a number",
        "string_type": "must be text (quote it if it looks like a number or date)",
        "bool_type": "must be true or false",
        "model_type": "must be a mapping of keys to values",
        "dict_type": "must be a mapping of keys to values",
        "string_pattern_mismatch": (
            "must be a slug: lower-case letters, digits and underscores, starting with a letter or digit"
        ),
        "string_too_short": "must not be empty",
        "string_too_long": f"must be at most {ctx.get('max_length')} characters"
        + (f" (got {len(given):,})" if isinstance(given, str) else ""),
        "finite_number": "must be a finite number (not .inf or .nan)",
        "greater_than": f"must be greater than {ctx.get('gt'):g}" if "gt" in ctx else "is too small",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "less_than_equal": f"must be at most {_plain(ctx.get('le'))}",
    }
    if kind in messages:
        return messages[kind] + shown
    return str(err["msg"]).removeprefix("Value error, ") + shown
