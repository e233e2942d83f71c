"""What a report kind is: its payload model, figures registry, rules, naming and sample.

A kind is one package under ``service/kinds/`` that builds one :class:`Kind`, plus one folder
``templates/<kind>/`` with its templates by year (``versions.toml``); :mod:`service.kinds.registry`
lists the packages. Everything that differs between kinds is read from here: the schema's union
and its figure descriptions, the names a paragraph may quote, the figures tables of
``docs/payload.md``, the console's figure labels, file names and document metadata.

A disclosure kind's model extends :class:`service.payload.schema.Disclosure` (the fields every
disclosure has) and takes the disclosure rules, :attr:`Kind.rules` and :attr:`Kind.part_rules`
left at their defaults, adding its own where it has more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from service import TEMPLATES_DIR
from service.errors import FieldError
from service.payload.rules import check_parsed_parts, check_rules


@dataclass(frozen=True, slots=True)
class Figure:
    """One named figure: what a paragraph quotes as ``{name}`` and the template prints."""

    name: str
    label: str
    """Chinese name, as the console and ``docs/payload.md`` show it (参训人次)."""
    unit: str
    """The unit the value is counted in (人次, 件, %), ``""`` for none."""
    source: str
    """The payload field it is read from, a dotted path (``figures.training.participants``);
    the schema's description of that field is ``label`` and ``unit``."""
    read: Callable[[Any], Any]
    """The raw value from a parsed payload, ``None`` where the payload does not disclose it."""
    format: Callable[[Any], str]
    """The raw value as the document prints it."""
    example: str = ""
    """How a typical value prints, for ``docs/payload.md``."""


@dataclass(frozen=True, slots=True)
class Naming:
    """How one document of a kind is named: in its title, file name, metadata and store."""

    period_mark: str
    """The period in the title, after the company (``2023年度``, ``2022年第一季度``)."""
    period_code: str
    """The period in a file name (``2023``, ``2022Q1``)."""
    period: str
    """The period within the year for the store (``第一季度``); ``""`` for a whole year."""
    name: str = ""
    """What the file name calls the document after its period; ``""``: the kind's label."""


Rules = Callable[[Any], list[FieldError]]
PartRules = Callable[[dict[str, Any]], list[FieldError]]


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    """The payload's ``kind``."""
    label: str
    """The kind in Chinese (消费者权益保护工作重大信息披露)."""
    model: type[BaseModel]
    figures: tuple[Figure, ...]
    sample: Mapping[str, Any]
    """A small valid payload: ``pilu sample``, and the warm-up's document."""
    naming: Callable[[Any], Naming]
    rules: Rules = check_rules
    """Rules beyond types, over a parsed payload (every error at once); by default the
    disclosure rules."""
    part_rules: PartRules | None = None
    """The same rules over the parts of an invalid payload that parse on their own; ``None``:
    the disclosure rules over the parts of :attr:`model` (:meth:`check_parts`)."""
    keywords: tuple[str, ...] = ()
    """Document keywords after the company and the period."""
    texts: Callable[[Any], Iterator[tuple[str, str]]] | None = None
    """Every free text of a payload with its JSON path (for the glyph check); ``None``: the
    disclosure payload's texts (:func:`service.payload.rules.iter_texts`)."""
    inserts: frozenset[str] | None = None
    """The generated contents (``{"insert": …}``) the kind's template writes; ``None``: all the
    schema names."""
    templates: Path = TEMPLATES_DIR
    """The folder holding ``<name>/versions.toml`` and the templates it names."""
    narrative: bool = True
    """Whether the kind is written by a report template (``<templates>/<name>/``) from sections,
    inserts and figures, as the disclosures are; a letter is built from its own fields."""
    year_on_year: tuple[tuple[str, str], ...] = ()
    """Each 同比 figure with the figure it compares to last year's, by name
    (``("training.yoy", "training.participants")``): a payload made from last year's document
    has it computed where left out, and checked where given (:mod:`service.report.next_year`)."""

    def check_parts(self, obj: dict[str, Any]) -> list[FieldError]:
        """:attr:`part_rules` over ``obj``, a payload object that failed :attr:`model`."""
        if self.part_rules is None:
            return check_parsed_parts(obj, self.model)
        return self.part_rules(obj)

    @property
    def figure_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.figures)

    def figure(self, name: str) -> Figure:
        for figure in self.figures:
            if figure.name == name:
                return figure
        raise KeyError(name)


def compute_figures(kind: Kind, payload: Any) -> dict[str, str]:
    """Every figure ``payload`` discloses, by name, formatted as the document prints it."""
    out: dict[str, str] = {}
    for figure in kind.figures:
        value = figure.read(payload)
        if value is not None:
            out[figure.name] = figure.format(value)
    return out
