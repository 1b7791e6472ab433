"""GET forms for the catalog pages: they only validate query-string input for the selectors."""
from typing import Any

from django import forms

from catalog.selectors import ITEM_ORDERINGS

SORT_LABELS = {
    "newest": "Newest first",
    "price": "Price: low to high",
    "-price": "Price: high to low",
    "title": "Title: A to Z",
}
SORT_CHOICES = [(key, SORT_LABELS.get(key, key)) for key in ITEM_ORDERINGS]


class ItemFilterForm(forms.Form):
    sort = forms.ChoiceField(label="Sort by", choices=SORT_CHOICES, required=False)
    in_stock = forms.BooleanField(label="In stock only", required=False)
    min_price = forms.DecimalField(
        label="Min price", required=False, min_value=0, max_digits=10, decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal", "placeholder": "0"}),
    )
    max_price = forms.DecimalField(
        label="Max price", required=False, min_value=0, max_digits=10, decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal", "placeholder": "Any"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        low, high = cleaned.get("min_price"), cleaned.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", "Max price must not be below min price.")
        return cleaned

    def selector_filters(self) -> dict[str, Any]:
        """Keyword arguments for ``item_list`` from the fields that validated; invalid ones are ignored."""
        self.is_valid()
        data = self.cleaned_data  # Django drops fields with errors from cleaned_data
        return {
            "ordering": data.get("sort") or "newest",
            "in_stock": True if data.get("in_stock") else None,
            "min_price": data.get("min_price"),
            "max_price": data.get("max_price"),
        }


class SearchFilterForm(ItemFilterForm):
    """The search page's filters: the same as a category's, sorted by relevance by default."""

    sort = forms.ChoiceField(label="Sort by", choices=[("relevance", "Best match"), *SORT_CHOICES], required=False)

    def selector_filters(self) -> dict[str, Any]:
        filters = super().selector_filters()
        if not self.cleaned_data.get("sort"):
            filters["ordering"] = "relevance"
        return filters
