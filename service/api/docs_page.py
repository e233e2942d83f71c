"""``GET /docs``: the OpenAPI document as one readable HTML page.

Self-contained on purpose (no script, no CDN, inline CSS, its own font subset for the Chinese
text: :mod:`service.api.docs_font`): it must work on an intranet with no way out, on a machine
without a CJK font. It shows operations, parameters, responses and the error table; it does not
render the payload schema's fields (that is ``/v1/schema`` and docs/payload.md).
"""

from __future__ import annotations

from html import escape, unescape
from typing import Any

from service.api.docs_font import font_face_css
from service.api.openapi import error_catalogue

_CSS = """
body{font:15px/1.55 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",
"Pilu Docs Hei",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f5f5f7;padding:.75rem;overflow-x:auto;border-radius:6px}
h2{border-bottom:1px solid #ddd;padding-bottom:.25rem;margin-top:2.5rem}
.op{border:1px solid #ddd;border-radius:8px;padding:.25rem 1rem 1rem;margin:1.25rem 0}
.m{display:inline-block;min-width:3.5rem;font-weight:700;color:#fff;border-radius:4px;
padding:0 .4rem;text-align:center;margin-right:.5rem}.get{background:#2f6fb0}.post{background:#2e8540}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #ddd;
padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f5f5f7}
.pub{color:#777;font-size:.9em}
"""


def _md(text: str) -> str:
    """Escape, then turn `code` spans into <code> (the only markup the descriptions use)."""
    parts = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _response_rows(responses: dict[str, Any], spec: dict[str, Any]) -> str:
    rows = []
    for status, response in responses.items():
        if "$ref" in response:
            response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        media = ", ".join(response.get("content", {})) or "—"
        rows.append(
            f"<tr><td>{escape(status)}</td><td>{_md(response['description'])}</td>"
            f"<td><code>{escape(media)}</code></td></tr>"
        )
    return "".join(rows)


def _parameter_rows(parameters: list[dict[str, Any]], spec: dict[str, Any]) -> str:
    rows = []
    for param in parameters:
        if "$ref" in param:
            param = spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
        schema = param.get("schema", {})
        kind = " | ".join(schema["enum"]) if "enum" in schema else schema.get("type", "")
        rows.append(
            f"<tr><td><code>{escape(param['name'])}</code></td><td>{escape(param['in'])}</td>"
            f"<td><code>{escape(kind)}</code></td><td>{_md(param.get('description', ''))}</td></tr>"
        )
    return "".join(rows)


def _curl(method: str, path: str, public: bool, op: dict[str, Any] | None = None) -> str:
    samples = (op or {}).get("x-codeSamples")
    if samples:
        return "\n".join(sample["source"] for sample in samples)
    parts = ["curl -sS"]
    if not public:
        parts.append('-H "Authorization: Bearer $PILU_KEY"')
    if method == "post":
        parts.append("--data-binary @examples/xiaokang-life-2023.json")
        if path == "/v1/render":
            parts.append('-o report.pdf "$PILU_URL/v1/render?format=pdf"')
            return " ".join(parts)
    parts.append(f'"$PILU_URL{path}"')
    return " ".join(parts)


def render_docs_page(spec: dict[str, Any]) -> str:
    info = spec["info"]
    ops = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            public = op.get("security") == []
            access = '<span class="pub">no key needed</span>' if public else "API key required"
            body = ""
            if "requestBody" in op:
                body = f"<p><b>Body:</b> {_md(op['requestBody']['description'])} "
                body += 'Schema: <a href="/v1/schema"><code>/v1/schema</code></a>.</p>'
            ops.append(
                f'<div class="op" id="{escape(op["operationId"])}"><h3>'
                f'<span class="m {method}">{method.upper()}</span><code>{escape(path)}</code>'
                f" — {escape(op['summary'])}</h3><p>{_md(op.get('description', ''))}</p>"
                f"<p>{access}</p>{body}"
                "<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Meaning</th></tr>"
                f"{_parameter_rows(op.get('parameters', []), spec)}</table>"
                "<table><tr><th>Status</th><th>Meaning</th><th>Media type</th></tr>"
                f"{_response_rows(op['responses'], spec)}</table>"
                f"<pre>{escape(_curl(method, path, public, op))}</pre></div>"
            )
    errors = "".join(
        f"<tr><td>{status}</td><td><code>{escape(code)}</code></td><td>{_md(meaning)}</td></tr>"
        for status, code, meaning in error_catalogue()
    )
    head = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(info["title"])} API {escape(info["version"])}</title>
<style>{_CSS}/*FONT-FACE*/</style></head>
"""
    body = f"""<body><h1>{escape(info["title"])} API <small>{escape(info["version"])}</small></h1>
<p>{_md(info["summary"])}</p>
<p>Machine-readable: <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI 3.1),
payload schema <a href="/v1/schema"><code>/v1/schema</code></a>.</p>
<h2>Calling the API</h2>
{"".join(f"<p>{_md(p)}</p>" for p in info["description"].split(chr(10) + chr(10)))}
<pre>export PILU_URL=http://127.0.0.1:8080 PILU_KEY=&lt;your key&gt;</pre>
<h2>Endpoints</h2>
{"".join(ops)}
<h2>Error codes</h2>
<table><tr><th>Status</th><th>Code</th><th>Meaning</th></tr>{errors}</table>
</body></html>
"""
    return head.replace("/*FONT-FACE*/", font_face_css(unescape(head + body))) + body
