"""Characters a role's face lacks, set in the face's fallbacks: the body's runs split by face.

A paragraph's runs take their faces from the paragraph style (the role's Fandol face). For a
character that face cannot draw, the run is split and the piece gets its own ``w:rFonts``: the
first fallback face of the house style (Noto CJK SC, LXGW WenKai) that has the character. Each
fallback face is embedded under a family name made of its name and a digest of the characters it
holds in this document (:func:`fallback_family`), so two documents holding different characters
never embed two different fonts under one name: Word keeps one font per name across all open
documents.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from docx.oxml.ns import qn
from lxml import etree

from service.style.coverage import face_codepoints
from service.style.house_style import FontFace, HouseStyle

_P, _R, _T, _PPR, _PSTYLE, _RPR = (
    qn(t) for t in ("w:p", "w:r", "w:t", "w:pPr", "w:pStyle", "w:rPr")
)
_VAL, _SPACE = qn("w:val"), "{http://www.w3.org/XML/1998/namespace}space"


@dataclass(frozen=True, slots=True)
class FallbackFont:
    """A fallback face as one document embeds it: the characters it draws there, its name."""

    face: FontFace
    chars: frozenset[str]

    @property
    def family(self) -> str:
        return fallback_family(self.face, self.chars)


def fallback_family(face: FontFace, chars: Iterable[str]) -> str:
    """``<family> <digest>``: a family name that belongs to this set of characters alone."""
    text = "".join(sorted(set(chars)))
    return f"{face.family} {hashlib.sha256(text.encode()).hexdigest()[:8].upper()}"


def drawing_face(char: str, faces: list[FontFace]) -> FontFace:
    """The first of ``faces`` (a face, then its fallbacks) that has ``char``; the face itself
    when none has it (the coverage check has refused such text before)."""
    for face in faces:
        if ord(char) in face_codepoints(str(face.path)):
            return face
    return faces[0]


def split_runs_by_face(
    body: etree._Element, style: HouseStyle, roles: dict[str, str]
) -> list[FallbackFont]:
    """Split every run of ``body`` whose text its paragraph's face lacks; returns the fallback
    faces the body then uses, each with its characters. ``roles`` maps paragraph style ids to
    house-style roles (no style: ``body``)."""
    pending: list[tuple[etree._Element, list[tuple[FontFace | None, etree._Element]]]] = []
    used: dict[str, set[str]] = defaultdict(set)
    faces_by_key = {face.key: face for face in style.faces.values()}
    for paragraph in body.iter(_P):
        pstyle = paragraph.find(f"{_PPR}/{_PSTYLE}")
        role = roles.get(pstyle.get(_VAL) if pstyle is not None else "Normal", "body")
        face = style.face_of(role)
        faces = style.faces_drawing(face)
        if len(faces) == 1:
            continue
        own = face_codepoints(str(face.path))
        for run in paragraph.findall(_R):
            if all(ord(c) in own for t in run.findall(_T) for c in t.text or ""):
                continue
            pieces = _pieces(run, faces, face)
            for piece_face, element in pieces:
                if piece_face is not None and element.tag == _T:
                    used[piece_face.key].update(element.text or "")
            pending.append((run, pieces))
    fallbacks = {
        key: FallbackFont(faces_by_key[key], frozenset(chars)) for key, chars in used.items()
    }
    for run, pieces in pending:
        _replace_run(run, pieces, fallbacks)
    return [fallbacks[key] for key in sorted(fallbacks)]


def _pieces(
    run: etree._Element, faces: list[FontFace], own: FontFace
) -> list[tuple[FontFace | None, etree._Element]]:
    """The run's children, its ``w:t`` cut where the drawing face changes: ``(face, element)``
    with ``None`` for the paragraph's own face."""
    pieces: list[tuple[FontFace | None, etree._Element]] = []
    for child in run:
        if child.tag == _RPR:
            continue
        if child.tag != _T:
            pieces.append((None, child))
            continue
        text, current, start = child.text or "", None, 0
        for i, char in enumerate(text):
            face = drawing_face(char, faces)
            key = None if face is own else face
            if i and key is not current:
                pieces.append((current, _text(text[start:i])))
                start = i
            current = key
        if text:
            pieces.append((current, _text(text[start:])))
    return pieces


def _text(text: str) -> etree._Element:
    t = etree.Element(_T)
    t.text = text
    if text != text.strip():
        t.set(_SPACE, "preserve")
    return t


def _replace_run(
    run: etree._Element,
    pieces: list[tuple[FontFace | None, etree._Element]],
    fallbacks: dict[str, FallbackFont],
) -> None:
    """Put runs of consecutive same-face pieces where ``run`` was (its ``w:rPr`` copied)."""
    rpr = run.find(_RPR)
    anchor = run
    current: etree._Element | None = None
    current_face: object = object()
    for face, element in pieces:
        if current is None or face is not current_face:
            current = etree.Element(_R)
            new_rpr = etree.fromstring(etree.tostring(rpr)) if rpr is not None else None
            if face is not None:
                if new_rpr is None:
                    new_rpr = etree.Element(_RPR)
                family = fallbacks[face.key].family
                fonts = etree.SubElement(new_rpr, qn("w:rFonts"))
                for slot in ("ascii", "hAnsi", "eastAsia", "cs"):
                    fonts.set(qn(f"w:{slot}"), family)
                new_rpr.insert(0, fonts)
            if new_rpr is not None:
                current.append(new_rpr)
            anchor.addnext(current)
            anchor, current_face = current, face
        current.append(element)
    run.getparent().remove(run)
