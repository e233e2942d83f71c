"""The media type of each output format, for every layer that sends or describes a document."""

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "zip": "application/zip",
}
"""A writer's document (``pdf``, ``docx``), or ``zip``: both in one ZIP."""
