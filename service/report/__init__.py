"""Report templates: a valid payload and its report year -> the document model."""

from service.report.build import build_document
from service.report.versions import TemplateVersion, template_versions, version_for

__all__ = ["TemplateVersion", "build_document", "template_versions", "version_for"]
