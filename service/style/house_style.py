"""Load house-style profiles from ``templates/house-styles/*.toml``.

A profile may ``extends`` another; tables merge key by key, so a company file lists only what
differs from GB/T 9704. Sizes accept points or the Chinese size names (三号 = 16 pt).
"""

from __future__ import annotations

import hashlib
import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service import FONTS_DIR, TEMPLATES_DIR

HOUSE_STYLES_DIR = TEMPLATES_DIR / "house-styles"
DEFAULT_HOUSE_STYLE = "gbt9704"
MM_PER_PT = 25.4 / 72

CHINESE_SIZES_PT: dict[str, float] = {
    "初号": 42, "小初": 36, "一号": 26, "小一": 24, "二号": 22, "小二": 18,
    "三号": 16, "小三": 15, "四号": 14, "小四": 12, "五号": 10.5, "小五": 9,
    "六号": 7.5, "小六": 6.5, "七号": 5.5, "八号": 5,
}  # fmt: skip

ROLES = (
    "title", "lead", "body", "heading1", "heading2", "heading3", "heading4",
    "caption", "table", "note", "signature", "page_number",
)  # fmt: skip


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FontFace(_Frozen):
    """One shipped font file. ``family`` is the name the face is registered under."""

    key: str
    family: str
    file: str
    sha256: str
    role_name: str
    alt_name: str = ""
    """The installed font Word may take instead (``w:altName``: 仿宋_GB2312 …), or none."""

    @property
    def path(self) -> Path:
        return font_path(self.file)


@cache
def font_path(file: str) -> Path:
    """Where the font file ``file`` (a face's ``file``) lies, one ``Path`` per file: the
    writers ask for a face's path (and its text) per character looked up, and pathlib builds a
    new one each time (~15 µs)."""
    return FONTS_DIR / file


class RoleStyle(_Frozen):
    """The look of one kind of text. Sizes and pitches in pt."""

    face: str
    latin: str | None = None
    size_pt: float = Field(alias="size")
    align: Literal["left", "center", "right", "justify"] = "justify"
    line_pitch_pt: float | None = None
    """Exact line pitch; ``None`` means the page's line pitch."""
    first_line_indent_chars: float = 0
    right_indent_chars: float = 0

    @field_validator("size_pt", mode="before")
    @classmethod
    def _size_name(cls, value: Any) -> Any:
        if isinstance(value, str) and value in CHINESE_SIZES_PT:
            return CHINESE_SIZES_PT[value]
        if isinstance(value, str):
            raise ValueError(
                f"unknown size {value!r}: give pt or one of {', '.join(CHINESE_SIZES_PT)}"
            )
        return value

    @property
    def first_line_indent_pt(self) -> float:
        return self.first_line_indent_chars * self.size_pt


class PageStyle(_Frozen):
    """A page and its text block, in mm; the line pitch in pt."""

    width_mm: float
    height_mm: float
    margin_top_mm: float
    margin_bottom_mm: float
    margin_left_mm: float
    margin_right_mm: float
    line_pitch_pt: float
    chars_per_line: int

    @property
    def text_width_mm(self) -> float:
        return self.width_mm - self.margin_left_mm - self.margin_right_mm

    @property
    def text_height_mm(self) -> float:
        return self.height_mm - self.margin_top_mm - self.margin_bottom_mm


class PageNumberStyle(_Frozen):
    role: str
    format: str
    below_text_mm: float
    odd_side: Literal["left", "right", "center"]
    even_side: Literal["left", "right", "center"]
    inset_chars: float

    def text(self, n: int) -> str:
        return self.format.replace("{n}", str(n))


class TableStyle(_Frozen):
    border_pt: float
    header_face_role: str
    cell_padding_pt: float
    rounding_note: str = "注：因四舍五入，占比合计可能不等于100%。"
    """Printed under a table whose shares, each rounded on its own, do not add up to its 合计
    row; empty for none. A default rather than a line of ``gbt9704.toml``, so that the profile's
    digest (``version``) of every house style stays what it was."""


class DocxOptions(_Frozen):
    embed_fonts: Literal["editable", "used", "full", "none"] = "editable"
    installed_fonts: dict[str, str] = {}
    """Face key -> the name of a font installed on the readers' machines (``仿宋_GB2312``): the
    DOCX names these instead of the shipped faces and embeds nothing (``embed_fonts = "none"``)."""

    @model_validator(mode="after")
    def _installed_means_none(self) -> DocxOptions:
        if self.installed_fonts and self.embed_fonts != "none":
            raise ValueError('docx.installed_fonts needs docx.embed_fonts = "none"')
        return self


PdfVariant = Literal["pdf/a-3b", "plain"]
"""What a PDF is: ``pdf/a-3b`` (archival) or ``plain``; chosen by the house style or a request."""
PDF_VARIANTS: tuple[PdfVariant, ...] = ("pdf/a-3b", "plain")


def as_pdf_variant(value: str | None) -> PdfVariant | None:
    """``value`` as a :data:`PdfVariant` (``None`` stays ``None``); ``ValueError`` otherwise."""
    for variant in PDF_VARIANTS:
        if value == variant:
            return variant
    if value is None:
        return None
    raise ValueError(f"unknown PDF variant {value!r}; use {', '.join(PDF_VARIANTS)}")


class PdfOptions(_Frozen):
    variant: PdfVariant = "pdf/a-3b"
    """``pdf/a-3b``: archival (PDF/A-3b, tagged for PDF/UA-1, the payload attached);
    ``plain``: an untagged PDF with no attachment, as before archival PDFs."""


class LetterStyle(_Frozen):
    """The 公文 elements of a letter (GB/T 9704 §7.2, §7.4), by default as the standard says.

    Defaults rather than lines of ``gbt9704.toml``, so that every house style's digest
    (``version``) stays what it was; a profile overrides them under ``[letter]``. Faces are keys
    of ``faces``; sizes in pt; lengths in mm.
    """

    red: str = Field(default="#FF0000", pattern=r"^#[0-9A-Fa-f]{6}$")
    """The colour of the 发文机关标志, the red separator line and a drawn seal's ink."""
    mark_face: str = "xiaobiaosong"
    mark_size_pt: float = 42
    """发文机关标志 size, reduced so that the mark fits the width of the text block."""
    mark_top_mm: float = 35
    """From the top edge of the text block to the top edge of the 发文机关标志 (§7.2.4)."""
    red_line_below_reference_mm: float = 4
    red_line_mm: float = 0.5
    corner_face: str = "hei"
    """密级和保密期限 and 紧急程度 (3号黑体, §7.2.2, §7.2.3)."""
    signer_name_face: str = "kai"
    """签发人 names (3号楷体, §7.2.5); the label 签发人： is set as body text."""
    annex_label_face: str = "hei"
    """The 附件 mark on an attachment's first line (3号黑体, §8)."""
    record_face: str = "fangsong"
    record_size_pt: float = 14
    """版记 (抄送机关, 印发机关 and 印发日期): 4号仿宋 (§7.4)."""
    record_outer_line_mm: float = 0.35
    record_inner_line_mm: float = 0.25
    record_on_even_page: bool = True
    """The 版记 stands on the last side of a sheet printed on both sides (an even page)."""
    seal: str | None = None
    """A PNG under ``templates/house-styles/`` (``seals/company.png``) printed over the 署名
    and 成文日期 (§7.3.5.1); ``None`` for unsealed letters (§7.3.5.2)."""
    seal_diameter_mm: float = 42

    @property
    def seal_path(self) -> Path | None:
        return None if self.seal is None else HOUSE_STYLES_DIR / self.seal


class HouseStyle(_Frozen):
    name: str
    description: str = ""
    page: PageStyle
    page_number: PageNumberStyle
    faces: dict[str, FontFace]
    """Faces by the short names the roles use (``fangsong``, ``hei`` …), fallback faces too."""
    fallbacks: dict[str, tuple[str, ...]] = {}
    """Per face key, the faces (keys) that draw a character the face lacks, tried in order."""
    roles: dict[str, RoleStyle]
    table: TableStyle
    dates: Literal["chinese", "iso"] = "chinese"
    """How the document prints a date (发布时间, under the signature): ``chinese`` 2024年1月12日
    (GB/T 9704 §7.3.5, no leading zeros) or ``iso`` 2024-01-12. A default rather than a line of
    ``gbt9704.toml``, so that the profiles' digests stay what they were."""
    docx: DocxOptions = DocxOptions()
    pdf: PdfOptions = PdfOptions()
    letter: LetterStyle = LetterStyle()
    version: str = ""
    """SHA-256 of the merged profile, so a manifest can tell which look a document was made with."""

    def role(self, name: str) -> RoleStyle:
        return self.roles[name]

    def face_of(self, role: str) -> FontFace:
        return self.faces[self.roles[role].face]

    def latin_face_of(self, role: str) -> FontFace:
        r = self.roles[role]
        return self.faces[r.latin or r.face]

    def line_pitch_of(self, role: str) -> float:
        return self.roles[role].line_pitch_pt or self.page.line_pitch_pt

    def fallbacks_of(self, face: FontFace) -> list[FontFace]:
        """The faces that draw, in this order, the characters ``face`` lacks."""
        return [self.faces[key] for key in self.fallbacks.get(face.key, ())]

    def faces_drawing(self, face: FontFace) -> list[FontFace]:
        """``face`` and its fallbacks: every face a character set in ``face`` may come from."""
        return [face, *self.fallbacks_of(face)]

    def used_faces(self) -> list[FontFace]:
        """Every face some role uses, each once, in a stable order."""
        keys: list[str] = []
        for role in self.roles.values():
            for key in (role.face, role.latin or role.face):
                if key not in keys:
                    keys.append(key)
        return [self.faces[k] for k in keys]


def list_house_styles() -> list[str]:
    return sorted(p.stem for p in HOUSE_STYLES_DIR.glob("*.toml"))


@cache
def load_house_style(name: str = DEFAULT_HOUSE_STYLE) -> HouseStyle:
    """The merged profile ``name`` (a file stem under ``templates/house-styles``).

    Raises ``KeyError`` for an unknown name and ``ValueError`` for a profile that does not parse.
    """
    raw = _merged_profile(name, seen=())
    catalogue = _font_catalogue()
    faces = {}
    for key, face_name in raw.pop("faces").items():
        if face_name not in catalogue:
            raise ValueError(f"house style {name}: face {key} names unknown font {face_name!r}")
        entry = {k: v for k, v in catalogue[face_name].items() if k in FontFace.model_fields}
        faces[key] = FontFace(key=key, **entry)
    missing = [r for r in ROLES if r not in raw.get("roles", {})]
    if missing:
        raise ValueError(f"house style {name}: roles missing: {', '.join(missing)}")
    for role_name, role in raw["roles"].items():
        for face_key in (role.get("face"), role.get("latin")):
            if face_key is not None and face_key not in faces:
                raise ValueError(
                    f"house style {name}: role {role_name} uses unknown face {face_key!r}"
                )
    unknown_installed = set(raw.get("docx", {}).get("installed_fonts", {})) - set(faces)
    if unknown_installed:
        raise ValueError(f"house style {name}: docx.installed_fonts names unknown faces")
    for face_key, fallback_keys in raw.get("fallbacks", {}).items():
        unknown = [k for k in (face_key, *fallback_keys) if k not in faces]
        if unknown:
            raise ValueError(f"house style {name}: fallbacks name unknown faces {unknown}")
    letter_faces = {
        v for k, v in raw.get("letter", {}).items() if k.endswith("_face") and isinstance(v, str)
    }
    if letter_faces - set(faces):
        raise ValueError(f"house style {name}: [letter] names unknown faces")
    raw.pop("extends", None)
    if (seal := raw.get("letter", {}).get("seal")) is not None:
        check_seal_image(name, seal)
    digest = hashlib.sha256(repr(sorted(_flatten(raw))).encode()).hexdigest()[:16]
    raw["roles"] = {**_letter_roles(raw), **raw["roles"]}
    return HouseStyle(faces=faces, version=digest, **raw)


LETTER_ROLES = ("mark", "corner", "signer_name", "annex_label", "record")
"""Roles a 公文 adds, derived from ``[letter]`` (a profile may still define them itself)."""


def _letter_roles(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The letter's roles from ``[letter]`` and the body role (see :class:`LetterStyle`)."""
    letter = LetterStyle(**raw.get("letter", {}))
    body = raw["roles"]["body"]
    body_size = body["size"]
    latin = {"latin": body["latin"]} if "latin" in body else {}
    return {
        "mark": {
            "face": letter.mark_face,
            "size": letter.mark_size_pt,
            "align": "center",
            "line_pitch_pt": letter.mark_size_pt,
        },
        "corner": {"face": letter.corner_face, "size": body_size, "align": "left", **latin},
        "signer_name": {"face": letter.signer_name_face, "size": body_size, **latin},
        "annex_label": {"face": letter.annex_label_face, "size": body_size, "align": "left"},
        "record": {
            "face": letter.record_face,
            "size": letter.record_size_pt,
            "align": "left",
            **latin,
        },
    }


SEAL_MAX_BYTES = 4 * 1024 * 1024


def check_seal_image(style_name: str, seal: str) -> None:
    """Refuse, when the house style is loaded, a seal that is not a PNG image under
    ``templates/house-styles/`` (read once: the profile is loaded once per process)."""
    from PIL import Image, UnidentifiedImageError

    path = (HOUSE_STYLES_DIR / seal).resolve()
    where = f"house style {style_name}: letter.seal {seal!r}"
    if ".." in Path(seal).parts or not path.is_relative_to(HOUSE_STYLES_DIR.resolve()):
        raise ValueError(f"{where} must name a file under templates/house-styles/")
    if not path.is_file() or path.stat().st_size > SEAL_MAX_BYTES:
        raise ValueError(f"{where}: no such file, or larger than {SEAL_MAX_BYTES} bytes")
    try:
        with Image.open(path) as image:
            image.verify()
            kind = image.format
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"{where} is not a readable image: {exc}") from exc
    if kind != "PNG":
        raise ValueError(f"{where} is a {kind} image, not PNG")


def _merged_profile(name: str, seen: tuple[str, ...]) -> dict[str, Any]:
    if name in seen:
        raise ValueError(f"house style {name}: circular extends ({' -> '.join(seen + (name,))})")
    path = HOUSE_STYLES_DIR / f"{name}.toml"
    if "/" in name or not path.is_file():
        raise KeyError(name)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    parent = data.get("extends")
    if parent is None:
        return data
    return _deep_merge(_merged_profile(parent, seen + (name,)), data)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _deep_merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            items += _flatten(value, f"{prefix}{key}.")
        else:
            items.append((f"{prefix}{key}", repr(value)))
    return items


@cache
def _font_catalogue() -> dict[str, dict[str, str]]:
    data = tomllib.loads((FONTS_DIR / "catalogue.toml").read_text(encoding="utf-8"))
    return dict(data["faces"])
