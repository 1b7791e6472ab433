"""A Content-Security-Policy on every answer, and nothing in the templates that the policy would have to allow."""
import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# An inline script (a <script> without src, except JSON data blocks), a <style> element, a style="" attribute,
# an on*="" event handler or a javascript: URL.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>"
    r"|<style\b|\sstyle=\"|\son[a-z]+=\"|javascript:",
    re.IGNORECASE,
)

COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/search/?q=x", "/accounts/login/", "/api/v1/items/", "/api/docs/", "/nope/"])
def test_every_answer_carries_the_policy(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                      "object-src 'none'", "base-uri 'self'"):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_template_holds_inline_script_or_style():
    found = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for match in INLINE.finditer(COMMENT.sub("", path.read_text()))
    ]
    assert found == []


@pytest.mark.django_db
def test_api_docs_come_from_our_static_files(client):
    swagger = client.get("/api/docs/").content.decode()
    redoc = client.get("/api/redoc/")
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in swagger
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc.content.decode()
    assert "cdn.jsdelivr.net" not in swagger and "googleapis" not in redoc.content.decode()
    script = client.get("/api/docs/?script=")  # Swagger UI's start-up script, served as a file
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    # ReDoc alone may use inline styles (styled-components) and a blob: worker; never inline scripts.
    policy = redoc["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy and "script-src 'self';" in policy
