"""Which embedded font draws each character, and the document's runs split by it.

A paragraph's runs take their faces from the paragraph style (the role's face). Under one family
name a document embeds only a fixed set of characters (:func:`~.charsets.fixed_characters` of
the face's mode), the same in every document of the house style, because Word keeps one embedded
font per family name across all open documents: two documents embedding two different fonts
under one name would show each other's missing glyphs. A character outside that set is set in a
run of its own, in an **overflow font**: the same face, or for a character the face lacks its
first fallback face (Noto CJK SC, LXGW WenKai) that has it, embedded with just the characters it
draws in this document under a family name made of the face's name and a digest of those
characters (:func:`set_family`). In ``used`` mode the fixed set is only what heading numbers
need (:func:`~.charsets.label_characters`): nearly every character is in an overflow font.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from docx.oxml.ns import qn
from lxml import etree

from service.render.docx.fonts.charsets import EmbedMode, fixed_characters
from service.style.coverage import face_codepoints
from service.style.house_style import FontFace, HouseStyle

_P, _R, _T, _PPR, _PSTYLE, _RPR = (
    qn(t) for t in ("w:p", "w:r", "w:t", "w:pPr", "w:pStyle", "w:rPr")
)
_VAL, _SPACE = qn("w:val"), "{http://www.w3.org/XML/1998/namespace}space"
_RFONTS, _EAST_ASIA = qn("w:rFonts"), qn("w:eastAsia")


def embed_modes(style: HouseStyle) -> dict[str, EmbedMode]:
    """The embedding mode of each face the roles use, by face key: with ``editable``, the body's
    face holds the editable set and every other face (title, headings, captions, page numbers)
    only its ``display`` reserve; other modes apply to every face."""
    mode = style.docx.embed_fonts
    faces = style.used_faces()
    if mode != "editable":
        return {face.key: mode for face in faces}
    body = style.face_of("body").key
    return {face.key: "editable" if face.key == body else "display" for face in faces}


@dataclass(frozen=True, slots=True)
class OverflowFont:
    """A face as one document embeds it beyond the fixed sets: the characters it draws there."""

    face: FontFace
    chars: frozenset[str]
    named_by_set: bool = True
    """``False`` when nothing is embedded: the run then names the face's own family."""

    @property
    def family(self) -> str:
        return set_family(self.face, self.chars) if self.named_by_set else self.face.family


def set_family(face: FontFace, chars: Iterable[str]) -> str:
    """``<family> <digest>``: a family name that belongs to this set of characters of this
    version of the face (its catalogue SHA-256) alone."""
    text = face.sha256 + "|" + "".join(sorted(set(chars)))
    return f"{face.family} {hashlib.sha256(text.encode()).hexdigest()[:8].upper()}"


class _Drawer:
    """Which font draws a character set in a role's face: the face's own family (``None``), or
    the overflow of a face (that face)."""

    def __init__(self, style: HouseStyle, modes: dict[str, EmbedMode]) -> None:
        self.style = style
        self.modes = modes
        self._memo: dict[tuple[str, str], FontFace | None] = {}
        self._own: dict[str, set[str]] = defaultdict(set)
        """Per face key, the characters seen so far that the face's own family draws."""

    def __call__(self, char: str, face: FontFace) -> FontFace | None:
        key = (char, face.key)
        if key not in self._memo:
            self._memo[key] = self._find(char, face)
        return self._memo[key]

    def draws_all(self, text: str, face: FontFace) -> bool:
        """Whether ``face``'s own family draws every character of ``text`` (nearly every run:
        the set operation then spares a look-up per character)."""
        own = self._own[face.key]
        if own.issuperset(text):
            return True
        for char in set(text).difference(own):
            if self(char, face) is not None:
                return False
            own.add(char)
        return True

    def _find(self, char: str, face: FontFace) -> FontFace | None:
        code = ord(char)
        if code in face_codepoints(str(face.path)):
            mode = self.modes.get(face.key, "used")
            if mode in ("none", "full") or char in (fixed_characters(mode) or ()):
                return None
            return face
        for fallback in self.style.fallbacks_of(face):
            if code in face_codepoints(str(fallback.path)):
                return fallback
        return None


def split_runs_by_font(
    parts: Iterable[etree._Element],
    style: HouseStyle,
    roles: dict[str, str],
    modes: dict[str, EmbedMode],
) -> list[OverflowFont]:
    """Split every run of ``parts`` (the body, the footers) holding a character its paragraph's
    face does not draw under its own name; returns the overflow fonts then used, each with its
    characters. ``roles`` maps paragraph style ids to house-style roles (no style: ``body``);
    ``modes`` is :func:`embed_modes`."""
    drawer = _Drawer(style, modes)
    pending: list[tuple[etree._Element, list[tuple[FontFace | None, etree._Element]]]] = []
    used: dict[str, set[str]] = defaultdict(set)
    faces_by_key = {face.key: face for face in style.faces.values()}
    faces_by_family = {face.family: face for face in style.faces.values()}
    for part in parts:
        for paragraph in part.iter(_P):
            pstyle = paragraph.find(f"{_PPR}/{_PSTYLE}")
            style_id = pstyle.get(_VAL) if pstyle is not None else None
            role = roles.get(style_id or "Normal", "body")
            face = style.face_of(role)
            for run in paragraph.findall(_R):
                own = _run_face(run, faces_by_family) or face
                if all(drawer.draws_all(t.text or "", own) for t in run.iterchildren(_T)):
                    continue
                pieces = _pieces(run, own, drawer)
                for piece_face, element in pieces:
                    if piece_face is not None and element.tag == _T:
                        used[piece_face.key].update(element.text or "")
                pending.append((run, pieces))
    named = style.docx.embed_fonts != "none"
    overflow = {
        key: OverflowFont(faces_by_key[key], frozenset(chars), named) for key, chars in used.items()
    }
    for run, pieces in pending:
        _replace_run(run, pieces, overflow)
    return [overflow[key] for key in sorted(overflow)]


def _run_face(run: etree._Element, faces_by_family: dict[str, FontFace]) -> FontFace | None:
    """The face a run names itself (``w:rFonts w:eastAsia``, as a letter's 签发人 names in
    楷体 inside a 仿宋 paragraph), or ``None`` for its paragraph's."""
    fonts = run.find(f"{_RPR}/{_RFONTS}")
    return None if fonts is None else faces_by_family.get(fonts.get(_EAST_ASIA, ""))


def _pieces(
    run: etree._Element, own: FontFace, drawer: _Drawer
) -> list[tuple[FontFace | None, etree._Element]]:
    """The run's children, its ``w:t`` cut where the drawing font changes: ``(face, element)``
    with ``None`` for the paragraph's own font."""
    pieces: list[tuple[FontFace | None, etree._Element]] = []
    for child in run:
        if child.tag == _RPR:
            continue
        if child.tag != _T:
            pieces.append((None, child))
            continue
        text, current, start = child.text or "", None, 0
        for i, char in enumerate(text):
            face = drawer(char, own)
            if i and face is not current:
                pieces.append((current, _text(text[start:i])))
                start = i
            current = face
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
    overflow: dict[str, OverflowFont],
) -> None:
    """Put runs of consecutive same-font pieces where ``run`` was (its ``w:rPr`` copied)."""
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
                for named in new_rpr.findall(_RFONTS):
                    new_rpr.remove(named)
                family = overflow[face.key].family
                fonts = etree.Element(qn("w:rFonts"))
                for slot in ("ascii", "hAnsi", "eastAsia", "cs"):
                    fonts.set(qn(f"w:{slot}"), family)
                new_rpr.insert(0, fonts)
            if new_rpr is not None:
                current.append(new_rpr)
            anchor.addnext(current)
            anchor, current_face = current, face
        current.append(element)
    parent = run.getparent()
    assert parent is not None
    parent.remove(run)
