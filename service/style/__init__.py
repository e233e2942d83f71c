"""House style: the look of a document (fonts per role, sizes, margins, line pitch, page numbers).

Both writers read a :class:`HouseStyle`; neither hard-codes a size or a font.
"""

from service.style.house_style import (
    PDF_VARIANTS,
    FontFace,
    HouseStyle,
    PageNumberStyle,
    PageStyle,
    PdfVariant,
    RoleStyle,
    as_pdf_variant,
    list_house_styles,
    load_house_style,
)

__all__ = [
    "PDF_VARIANTS",
    "FontFace",
    "HouseStyle",
    "PageNumberStyle",
    "PageStyle",
    "PdfVariant",
    "RoleStyle",
    "as_pdf_variant",
    "list_house_styles",
    "load_house_style",
]
