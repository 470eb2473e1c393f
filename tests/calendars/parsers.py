"""Three independent readings of a feed: ical.js (Thunderbird's parser, run with
node), vobject, and icalendar. A feed is right when all of them agree with us."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import icalendar
import vobject

JS_DIR = Path(__file__).resolve().parent / "js"


def read_with_icaljs(body: bytes, *, occurrences: int = 0) -> dict[str, Any]:
    """What ical.js makes of the feed (see js/read_feed.mjs for the shape)."""
    node = shutil.which("node")
    assert node, "node is needed for the ical.js checks (apt-get install nodejs)"
    assert (JS_DIR / "node_modules" / "ical.js").is_dir(), (
        f"ical.js is not installed: run `npm ci --prefix {JS_DIR}` (make test does)"
    )
    args = [node, "read_feed.mjs"]
    if occurrences:
        args += ["--occurrences", str(occurrences)]
    done = subprocess.run(args, input=body, cwd=JS_DIR, capture_output=True, timeout=60)
    assert done.returncode == 0, f"ical.js rejected the feed:\n{done.stderr.decode()[-3000:]}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def read_with_vobject(body: bytes) -> Any:
    """vobject's reading; it raises on malformed content lines."""
    return vobject.readOne(body.decode("utf-8"), validate=True)


def read_with_icalendar(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def unfolded_lines(body: bytes) -> list[str]:
    """Content lines as a client sees them after unfolding (RFC 5545 3.1)."""
    return body.replace(b"\r\n ", b"").decode("utf-8").split("\r\n")[:-1]


def etag_from_body(body: bytes) -> str:
    """The feed's ETag, recomputed from its bytes alone (independently of app code):
    SHA-256 over the SHA-256 of each part, the parts being what comes before the first
    VEVENT, each VEVENT, and the closing END:VCALENDAR line."""
    import hashlib

    lines = body.split(b"\r\n")[:-1]
    parts: list[list[bytes]] = [[]]
    for line in lines:
        if line in (b"BEGIN:VEVENT", b"END:VCALENDAR"):
            parts.append([])
        parts[-1].append(line)
    digests = b"".join(hashlib.sha256(b"".join(x + b"\r\n" for x in part)).digest()
                       for part in parts)
    return '"' + hashlib.sha256(digests).hexdigest() + '"'
