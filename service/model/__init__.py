"""The frozen document model that both writers read.

Every label, figure and share the reader sees is computed here, once: the PDF and DOCX writers
only lay out strings they are given, so they cannot disagree.
"""

from service.model.document import (
    Block,
    Document,
    DocumentMeta,
    Heading,
    Mark,
    Paragraph,
    Signature,
    SignaturePlacement,
    Table,
    TableColumn,
    TableRow,
)
from service.model.letter import Attachment, Distribution, Letter, LetterHead, reference_number

__all__ = [
    "Attachment",
    "Block",
    "Document",
    "Distribution",
    "DocumentMeta",
    "Heading",
    "Letter",
    "LetterHead",
    "Mark",
    "Paragraph",
    "Signature",
    "SignaturePlacement",
    "Table",
    "TableColumn",
    "TableRow",
    "reference_number",
]
