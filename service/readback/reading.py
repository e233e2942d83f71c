"""What a walk over a read DOCX found: the payload so far, its problems, and what the checks
after the new payload is built compare (the figures as typed, generated paragraphs, tables, and
where each part of the payload stands in the document)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.errors import FieldError
from service.kinds import Kind
from service.readback.document import ReadParagraph, ReadTable


@dataclass(slots=True)
class Typed:
    """Where the document prints a figure and what it says there."""

    place: str
    text: str


@dataclass(slots=True)
class Reading:
    """What the walk found, for the checks after the new payload is built."""

    payload: dict[str, Any]
    problems: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)
    typed: dict[str, list[Typed]] = field(default_factory=dict)
    generated: list[tuple[str, ReadParagraph]] = field(default_factory=list)
    tables: list[ReadTable] = field(default_factory=list)
    lead: ReadParagraph | None = None
    date_line: ReadParagraph | None = None
    places: dict[str, str] = field(default_factory=dict)
    """JSON paths of the payload read (sections, their contents) -> where the document has them."""

    def placed(self, error: FieldError) -> FieldError:
        """A payload error at the place in the document its JSON path stands for, if known."""
        path = error.path
        while path and path not in self.places:
            path = path[: max(path.rfind("."), path.rfind("["))] if "." in path[2:] else ""
        if not path:
            return error
        return FieldError(self.places[path], error.code, f"{error.message}（{error.path}）")

    def problem(self, place: str, code: str, message: str) -> None:
        self.problems.append(FieldError(place, code, message))


def figure_label(kind: Kind, name: str) -> str:
    """The figure's Chinese name (参训人次), its dotted name if the kind has no such figure."""
    try:
        label: str = kind.figure(name).label
    except KeyError:
        return name
    return label
