"""Admin for serving: recommender settings (versioned) with a before/after feed preview, and impressions."""
import copy
from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from common.parsing import ascii_int
from recommendations.events import Actor
from recommendations.models import Impression, RecommenderSettings, RecommenderSettingsVersion
from recommendations.serving.decide import RecommendedItem, page_decide
from recommendations.serving.pipeline import feed_inputs_get, page_items_get
from recommendations.tuning import (
    recommender_settings_get,
    recommender_settings_invalidate,
    recommender_settings_version_bump,
    training_models_errors,
)

# The knobs that change what a feed looks like; the preview lets an admin try them on one user's feed.
PREVIEW_FIELDS = [
    "feed_personal_share", "feed_popular_share", "feed_explore_share", "mmr_lambda", "category_cap",
    "exploration_rate", "freshness_boost", "new_item_days", "exclude_purchased", "exclude_viewed",
]
SERVING_HELP = (
    "Feed shares: slots of a page per group (personal / popular / explore); a user's exploration level scales the "
    "explore share (the default level 0.2 keeps it; 0 turns it off). MMR lambda: 1 = relevance only, lower = more "
    "diverse; a user's diversity level moves it (lambda ** (level / 0.5)). Category cap: most items of one category "
    "per page. Exploration rate: how many of the exploration pool's items are random rather than the unexplored "
    "categories' most popular. Freshness boost: score bonus for new items (new = created within new_item_days)."
)


class PreviewSettingsForm(forms.ModelForm):
    class Meta:
        model = RecommenderSettings
        fields = PREVIEW_FIELDS


class RecommenderSettingsForm(forms.ModelForm):
    def clean_training_models(self):  # unknown model names are refused here, not by a failed training run
        value = self.cleaned_data["training_models"]
        if errors := training_models_errors(training_models=value):
            raise forms.ValidationError(errors)
        return value


class PreviewUserForm(forms.Form):
    user = forms.CharField(help_text="Username or id of the user whose feed to preview.")
    n = forms.IntegerField(min_value=1, max_value=50, initial=20, label="Items")

    def clean_user(self):
        value = self.cleaned_data["user"].strip()
        pk = ascii_int(value)
        query = Q(username=value) | (Q(pk=pk) if pk is not None else Q(pk__in=[]))
        user = get_user_model().objects.filter(query).first()
        if user is None:
            raise forms.ValidationError(f"No user {value!r}.")
        return user


@dataclass(frozen=True)
class PreviewPage:
    items: list[RecommendedItem]
    ranker: str


def _preview_page(*, actor: Actor, n: int, settings: RecommenderSettings) -> PreviewPage:
    """The actor's first page under ``settings``, decided as the feed decides it, without logging anything."""
    inputs = feed_inputs_get(actor=actor, settings=settings)
    decision = page_decide(
        candidates=inputs.candidates, settings=settings, prefs=inputs.prefs, context_affinity={}, ranker=inputs.ranker,
        served=frozenset(), n=n, embeddings=inputs.embeddings,
    )
    return PreviewPage(items=page_items_get(decision=decision), ranker=decision.ranker)


def _summary(page: PreviewPage) -> dict:
    categories = [entry.item.category_id for entry in page.items]
    counts = {c: categories.count(c) for c in set(categories)}
    return {
        "n": len(page.items),
        "categories": len(counts),
        "top_category_share": f"{max(counts.values()) / len(categories):.0%}" if categories else "-",
        "explore": sum(1 for entry in page.items if entry.explanation["type"] == "exploring_category"),
    }


@admin.register(RecommenderSettings)
class RecommenderSettingsAdmin(admin.ModelAdmin):
    change_form_template = "admin/recommendations/recommendersettings/change_form.html"
    form = RecommenderSettingsForm
    list_display = ("__str__", "version", "mmr_lambda", "category_cap", "exploration_rate", "updated_at")
    readonly_fields = ("version", "updated_at")

    def has_add_permission(self, request) -> bool:  # singleton: edited, never added twice
        return not RecommenderSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        recommender_settings_version_bump(instance=obj, changed_by=request.user)
        recommender_settings_invalidate()

    def get_urls(self):
        preview = path("preview/", self.admin_site.admin_view(self.preview_view), name="recommendations_recommendersettings_preview")
        return [preview, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "preview_url": reverse("admin:recommendations_recommendersettings_preview"),
                         "serving_help": SERVING_HELP}
        return super().change_view(request, object_id, form_url, extra_context)

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """A user's feed with the live settings and with edited (unsaved) values, side by side. Saves nothing."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        live = recommender_settings_get()
        submitted = "user" in request.GET
        user_form = PreviewUserForm(request.GET if submitted else None, initial={"n": 20})
        initial = {name: getattr(live, name) for name in PREVIEW_FIELDS}
        edited = copy.copy(live)
        if submitted:
            if not any(name in request.GET for name in PREVIEW_FIELDS if not isinstance(initial[name], bool)):
                data = initial  # only a user was given: preview the live values on both sides
            else:  # a submitted form: an absent checkbox means unchecked
                data = {name: request.GET.get(name, initial[name]) for name in PREVIEW_FIELDS
                        if name in request.GET or not isinstance(initial[name], bool)}
            settings_form = PreviewSettingsForm(data, instance=edited)
        else:
            settings_form = PreviewSettingsForm(instance=edited)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Preview a feed with edited recommender settings",
            "user_form": user_form,
            "settings_form": settings_form,
            "live": live,
            "serving_help": SERVING_HELP,
        }
        if submitted and user_form.is_valid() and settings_form.is_valid():
            user, n = user_form.cleaned_data["user"], user_form.cleaned_data["n"]
            actor = Actor(user_id=user.pk)
            before = _preview_page(actor=actor, n=n, settings=live)
            after = _preview_page(actor=actor, n=n, settings=settings_form.instance)
            after_ids = {entry.item.pk for entry in after.items}
            before_ids = {entry.item.pk for entry in before.items}
            changed = [name for name in PREVIEW_FIELDS if getattr(settings_form.instance, name) != getattr(live, name)]
            context.update(
                {
                    "preview_user": user,
                    "rows": [
                        (b, a) for b, a in _zip_longest(before.items, after.items)
                    ],
                    "before": before, "after": after,
                    "before_summary": _summary(before), "after_summary": _summary(after),
                    "overlap": len(before_ids & after_ids),
                    "only_after": after_ids - before_ids,
                    "only_before": before_ids - after_ids,
                    "changed": [(name, getattr(live, name), getattr(settings_form.instance, name)) for name in changed],
                }
            )
        return TemplateResponse(request, "admin/recommendations/settings_preview.html", context)


def _zip_longest(left: list, right: list) -> list[tuple]:
    size = max(len(left), len(right))
    return [(left[i] if i < len(left) else None, right[i] if i < len(right) else None) for i in range(size)]


@admin.register(RecommenderSettingsVersion)
class RecommenderSettingsVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "changed_by", "created_at")
    readonly_fields = ("version", "snapshot", "changed_by", "created_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Impression)
class ImpressionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "request_id", "user", "item", "position", "source", "reason", "surface", "model_version")
    list_filter = ("source", "surface", "reason")
    search_fields = ("request_id",)
    raw_id_fields = ("user", "item", "model_version")
    list_select_related = ("user", "item", "model_version")
    show_full_result_count = False
