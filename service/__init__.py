"""Pilu: consumer-protection disclosures from a JSON payload to official DOCX and PDF documents.

Stages run one way: ``payload`` (schema and rules) -> ``report`` (template by report kind and
year) -> ``model`` (the frozen document) -> ``render`` (PDF and DOCX writers, reading the model
and the ``style`` house style only).
"""

from pathlib import Path

__version__ = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout (or installed tree) holding ``templates/`` and ``fonts/``."""

TEMPLATES_DIR = PROJECT_ROOT / "templates"
FONTS_DIR = PROJECT_ROOT / "fonts"
