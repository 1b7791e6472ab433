"""The Content-Security-Policy blocks nothing the site needs: the API docs (Swagger UI, ReDoc) from our own static
files, and the Vitrine admin pages whose scripts and styles moved out of their templates. Every browser test
also fails on any CSP violation (``conftest._new_page``)."""
import pytest

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_from_our_own_static_files(page, shop):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    response = page.goto("/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)  # operations listed: the schema loaded
    assert page.locator(".swagger-ui .opblock").count() > 5
    assert all(url.startswith(page.url.split("/api/")[0]) for url in requests), requests  # no CDN


def test_redoc_renders_from_our_own_static_files(page, shop):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto("/api/redoc/")
    page.wait_for_selector("redoc [role=navigation], redoc .menu-content", timeout=15_000)
    assert page.get_by_text("Vitrine API").first.is_visible()
    # All but ReDoc's "powered by" logo image, which its bundle links from cdn.redoc.ly (an image, no code).
    own = page.url.split("/api/")[0]
    assert all(url.startswith((own, f"blob:{own}")) or url == "https://cdn.redoc.ly/redoc/logo-mini.svg" for url in requests), requests


def test_admin_pages_with_moved_scripts_work(page, shop, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.com", "a-long-passphrase-9")
    page.goto("/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "a-long-passphrase-9")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    page.goto("/admin/recommendations/modelversion/")
    assert page.locator(".vitrine-retrain").is_visible()
    # The retrain form's rules come from admin-vitrine/admin.css (inline-flex), not an inline <style>.
    assert page.locator(".vitrine-retrain").evaluate("el => getComputedStyle(el).display") == "inline-flex"
    page.goto("/admin/recommendations/recommendersettings/")
    assert page.locator("#content").is_visible()
