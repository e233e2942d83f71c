"""The frozen document model that both writers read.

Every label, figure and share the reader sees is computed here, once: the PDF and DOCX writers
only lay out strings they are given, so they cannot disagree.
"""

from service.model.document import (
    Block,
    Document,
    DocumentMeta,
    Heading,
    Paragraph,
    Signature,
    Table,
    TableColumn,
    TableRow,
)

__all__ = [
    "Block",
    "Document",
    "DocumentMeta",
    "Heading",
    "Paragraph",
    "Signature",
    "Table",
    "TableColumn",
    "TableRow",
]
