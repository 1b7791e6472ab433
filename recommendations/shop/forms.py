"""Forms of the recommendation pages: they validate input; services write."""
from __future__ import annotations

from django import forms

from catalog.models import Category, Item
from recommendations.shop.onboarding import MAX_CATEGORIES, MAX_ITEMS

WEIGHT_MIN, WEIGHT_MAX, WEIGHT_STEP = 0.0, 2.0, 0.25


class OnboardingCategoriesForm(forms.Form):
    categories = forms.ModelMultipleChoiceField(
        queryset=Category.objects.filter(parent__isnull=True),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one category, or skip this step."},
    )

    def clean_categories(self):
        categories = self.cleaned_data["categories"]
        if len(categories) > MAX_CATEGORIES:
            raise forms.ValidationError(f"Pick at most {MAX_CATEGORIES} categories.")
        return categories


class OnboardingItemsForm(forms.Form):
    categories = forms.ModelMultipleChoiceField(queryset=Category.objects.all(), required=False, widget=forms.MultipleHiddenInput)
    items = forms.ModelMultipleChoiceField(
        queryset=Item.objects.filter(is_active=True), required=False, widget=forms.CheckboxSelectMultiple
    )

    def clean_items(self):
        items = self.cleaned_data["items"]
        if len(items) > MAX_ITEMS:
            raise forms.ValidationError(f"Pick at most {MAX_ITEMS} items.")
        return items


class PreferencesForm(forms.Form):
    """"Your recommendations": a weight per top-level category, excluded categories (any level), sliders, pause."""

    diversity_level = forms.FloatField(min_value=0.0, max_value=1.0, label="Variety")
    exploration_level = forms.FloatField(min_value=0.0, max_value=1.0, label="Discovery")
    pause_personalization = forms.BooleanField(required=False, label="Pause personalization")
    excluded = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())

    def __init__(self, *args, tree: list[tuple[Category, int]], **kwargs):
        super().__init__(*args, **kwargs)
        self.tree = tree
        self.fields["excluded"].choices = [(category.pk, category.name) for category, _ in tree]
        self.top_level = [category for category, depth in tree if depth == 0]
        for category in self.top_level:
            self.fields[self.weight_field(category.pk)] = forms.FloatField(
                min_value=WEIGHT_MIN, max_value=WEIGHT_MAX, required=False, label=category.name
            )

    @staticmethod
    def weight_field(category_id: int) -> str:
        return f"weight_{category_id}"

    def category_weights(self) -> dict[int, float]:
        weights = {}
        for category in self.top_level:
            value = self.cleaned_data.get(self.weight_field(category.pk))
            weights[category.pk] = 1.0 if value is None else round(value / WEIGHT_STEP) * WEIGHT_STEP
        return weights
