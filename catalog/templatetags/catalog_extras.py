"""Display helpers for catalog templates (presentation only, no queries)."""
from typing import Any

from django import template

register = template.Library()


@register.filter
def attribute_label(name: Any) -> str:
    """``"screen_size"`` -> ``"Screen size"``."""
    text = str(name).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


@register.filter
def attribute_value(value: Any) -> str:
    """A JSON attribute value as short text: booleans as Yes/No, lists joined, nested objects as key: value."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(attribute_value(entry) for entry in value)
    if isinstance(value, dict):
        return "; ".join(f"{attribute_label(key)}: {attribute_value(entry)}" for key, entry in value.items())
    return str(value)


@register.filter
def elided_page_range(page) -> list:
    """Page numbers around ``page`` with ``Paginator.ELLIPSIS`` gaps: 1 2 … 7 8 [9] 10 11 … 40 41."""
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
