"""House style: the look of a document (fonts per role, sizes, margins, line pitch, page numbers).

Both writers read a :class:`HouseStyle`; neither hard-codes a size or a font.
"""

from service.style.house_style import (
    FontFace,
    HouseStyle,
    PageNumberStyle,
    PageStyle,
    RoleStyle,
    list_house_styles,
    load_house_style,
)

__all__ = [
    "FontFace",
    "HouseStyle",
    "PageNumberStyle",
    "PageStyle",
    "RoleStyle",
    "list_house_styles",
    "load_house_style",
]
