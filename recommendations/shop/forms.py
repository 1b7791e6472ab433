"""Forms of the recommendation pages: they validate input; services write."""
from __future__ import annotations

from django import forms

from catalog.models import Category, Item
from common.parsing import ascii_int
from recommendations.shop.onboarding import MAX_CATEGORIES, MAX_ITEMS

WEIGHT_MIN, WEIGHT_MAX, WEIGHT_STEP = 0.0, 2.0, 0.25


class CappedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses more than ``max_choices`` values, or any that is not an id (ASCII digits within int64: SQLite
    overflows on a larger one, and ``int("١")`` is 1), before looking any up; the rest cost one query (Django's)."""

    def __init__(self, *args, max_choices: int, noun: str, **kwargs) -> None:
        self.max_choices, self.noun = max_choices, noun
        super().__init__(*args, **kwargs)

    def clean(self, value):
        if isinstance(value, (list, tuple)) and len(value) > self.max_choices:
            raise forms.ValidationError(f"Pick at most {self.max_choices} {self.noun}.", code="max_choices")
        for pk in value if isinstance(value, (list, tuple)) else ():
            if ascii_int(pk, low=1) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": str(pk)[:40]}
                )
        return super().clean(value)


class OnboardingCategoriesForm(forms.Form):
    categories = CappedModelMultipleChoiceField(
        queryset=Category.objects.filter(parent__isnull=True),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one category, or skip this step."},
        max_choices=MAX_CATEGORIES, noun="categories",
    )


class OnboardingItemsForm(forms.Form):
    # Step 2 carries step 1's categories (checked there, so the same cap).
    categories = CappedModelMultipleChoiceField(
        queryset=Category.objects.all(), required=False, widget=forms.MultipleHiddenInput,
        max_choices=MAX_CATEGORIES, noun="categories",
    )
    items = CappedModelMultipleChoiceField(
        queryset=Item.objects.filter(is_active=True), required=False, widget=forms.CheckboxSelectMultiple,
        max_choices=MAX_ITEMS, noun="items",
    )


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
