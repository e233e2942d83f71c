"""Reading the console's forms (URL-encoded or multipart) without holding more than a limit.

The API's ``client_max_size`` does not apply here: bodies are streamed part by part and refused
with 413 as soon as they pass the limit the caller gives (a payload form: the API's body limit;
a batch upload: :data:`MAX_BATCH_UPLOAD_BYTES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web

from service.console.pages import size
from service.errors import PayloadTooLarge, PiluError

_CHUNK = 64 * 1024
FORM_OVERHEAD_BYTES = 64 * 1024
"""Room for the other fields and the multipart boundaries around a payload."""


class BadForm(PiluError):
    """A console form that cannot be read: not URL-encoded or multipart, nested multipart, or
    not UTF-8 text."""

    status = 400
    code = "bad_form"


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    data: bytes


@dataclass(slots=True)
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)

    def file(self, name: str) -> Upload | None:
        upload = self.files.get(name)
        return upload if upload is not None and upload.data else None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"提交的内容超过上限（{size(limit)}）", details={"max_bytes": limit})


async def read_form(request: web.Request, limit: int) -> Form:
    """Every field and file of the request's form; ``PayloadTooLarge`` past ``limit`` bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    form = Form()
    if request.content_type == "multipart/form-data":
        try:
            reader = await request.multipart()
        except (ValueError, AssertionError) as exc:  # a broken or missing boundary
            raise BadForm("表单格式无效") from exc
        total = 0
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                raise BadForm("表单格式无效：不支持嵌套的multipart")
            data = bytearray()
            while True:
                chunk = await part.read_chunk(_CHUNK)
                if not chunk:
                    break
                data += chunk
                total += len(chunk)
                if total > limit:
                    raise _too_large(limit)
            name = part.name or ""
            if part.filename is not None:
                form.files[name] = Upload(part.filename, bytes(data))
            else:
                form.fields[name] = _text(bytes(data), part.get_charset(default="utf-8"))
    elif request.content_type == "application/x-www-form-urlencoded":
        body = bytearray()
        async for chunk in request.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > limit:
                raise _too_large(limit)
        text = _text(bytes(body), request.charset or "utf-8")
        for key, value in parse_qsl(text, keep_blank_values=True):
            form.fields[key] = value
    return form


def _text(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset)
    except (UnicodeDecodeError, LookupError) as exc:
        raise BadForm("表单内容不是有效的UTF-8文本") from exc
