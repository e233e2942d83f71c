#!/usr/bin/python3
"""A resident LibreOffice driven over UNO: run by Debian's /usr/bin/python3 (python3-uno binds
only to the system Python), never by the project's venv.

    /usr/bin/python3 bench/peers/uno_server.py PIPE_NAME PROFILE_DIR

Starts its own ``soffice --headless`` listening on a named pipe (no TCP port), connects, prints
``{"ready": true, ...}`` and then answers one JSON line per job on stdin:

    {"in": "/tmp/a.docx", "out": "/tmp/a.pdf"}  ->  {"ok": true, "seconds": 0.142}
    {"stop": true}                              ->  exits, terminating soffice

``seconds`` is load + PDF export + close inside LibreOffice, as the caller cannot see it.
"""

import contextlib
import json
import os
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException


def prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def main():
    pipe, profile = sys.argv[1], sys.argv[2]
    accept = f"pipe,name={pipe};urp;StarOffice.ComponentContext"
    soffice = subprocess.Popen(
        [
            "soffice",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            f"-env:UserInstallation={uno.systemPathToFileUrl(profile)}",
            f"--accept={accept}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            ctx = resolver.resolve(f"uno:{accept}")
            break
        except NoConnectException:
            if time.monotonic() > deadline or soffice.poll() is not None:
                print(
                    json.dumps({"ready": False, "error": "soffice did not accept a connection"}),
                    flush=True,
                )
                soffice.kill()
                return 1
            time.sleep(0.1)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    print(json.dumps({"ready": True, "pid": os.getpid(), "soffice": soffice.pid}), flush=True)
    load_props = (prop("Hidden", True), prop("ReadOnly", True))
    export_props = (prop("FilterName", "writer_pdf_Export"),)
    for line in sys.stdin:
        job = json.loads(line)
        if job.get("stop"):
            break
        started = time.perf_counter()
        try:
            doc = desktop.loadComponentFromURL(
                uno.systemPathToFileUrl(job["in"]), "_blank", 0, load_props
            )
            try:
                doc.storeToURL(uno.systemPathToFileUrl(job["out"]), export_props)
            finally:
                doc.close(True)
            reply: dict[str, object] = {"ok": True, "seconds": time.perf_counter() - started}
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)
    with contextlib.suppress(Exception):  # the bridge goes away with soffice
        desktop.terminate()
    try:
        soffice.wait(15)
    except subprocess.TimeoutExpired:
        soffice.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
