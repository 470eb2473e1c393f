"""The console's frame, server side: one page at every view's address, with its
security headers; the translations it lists."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "static"


@pytest.mark.parametrize("path", ["/console/", "/console/events/42", "/console/cities/7/partners"])
def test_every_view_address_is_the_page_with_its_security_headers(client, path):
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/console/js/app.js">' in r.text
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_a_missing_file_is_a_404_not_the_page(client):
    assert client.get("/console/js/nothing.js").status_code == 404


def test_files_are_compressed_and_revalidated(client):
    r = client.get("/console/js/app.js", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "no-cache"
    again = client.get("/console/js/app.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_languages_are_the_translation_files(client):
    codes = client.get("/console/languages.json").json()
    assert codes == sorted(p.stem for p in (STATIC / "i18n").glob("*.json"))
    assert {"en", "ru"} <= set(codes)


def test_every_language_has_every_key_of_english():
    english = json.loads((STATIC / "i18n" / "en.json").read_text())
    for path in (STATIC / "i18n").glob("*.json"):
        other = json.loads(path.read_text())
        assert sorted(set(english) - set(other)) == [], f"{path.name} lacks these keys"
        for key, value in other.items():
            if isinstance(value, dict):
                assert "other" in value, f"{path.name}: {key} needs an 'other' form"


def test_every_candidate_reason_has_words_beyond_english():
    """The API words a twin candidate's reasons in English; the console words them
    from their code and numbers in every other language (views/twin-search.js)."""
    from app.twins.model import REASON_CODES

    for path in (STATIC / "i18n").glob("*.json"):
        if path.stem == "en":
            continue
        words = json.loads(path.read_text())
        missing = sorted(f"reason.{code}" for code in REASON_CODES)
        assert [k for k in missing if k not in words] == [], f"{path.name} lacks these"


def test_the_favicon_is_served(client):
    r = client.get("/favicon.ico", follow_redirects=True)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")


def test_the_console_scripts_pass_eslint():
    js = Path(__file__).resolve().parent / "js"
    eslint = js / "node_modules" / ".bin" / "eslint"
    assert eslint.exists(), "run `make js-deps`"
    done = subprocess.run([str(eslint), "--config", str(js / "eslint.config.mjs"),
                           str(STATIC / "js")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
