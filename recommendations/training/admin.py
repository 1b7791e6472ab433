"""Admin for the training pipeline: model versions with metrics, live progress, "retrain now", activate/rollback.

Schedules (nightly retrain, fast updates) are django-celery-beat's "Periodic tasks" in the admin.
"""
import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from recommendations.models import ModelVersion
from recommendations.training import (
    PENDING_STATUSES,
    ArtifactVerificationError,
    model_version_activate,
    model_versions_progress,
    training_trigger,
    version_artifacts_verify,
)
from recommendations.tuning import recommender_settings_get

STAGE_ORDER = ("snapshot", "dataset", "train", "evaluate", "refit", "index", "swap", "total")
STATUS_COLORS = {
    "queued": "#6c757d", "training": "#0d6efd", "evaluating": "#6f42c1", "ready": "#198754",
    "active": "#146c43", "retired": "#6c757d", "failed": "#dc3545", "deleted": "#adb5bd",
}


def _progress_bar(version: ModelVersion):
    if version.status not in PENDING_STATUSES:
        return "-"
    return format_html(
        '<span class="vitrine-progress" data-version="{}"><progress max="100" value="{}"></progress> '
        '<span class="vitrine-progress-label">{}% {}</span></span>',
        version.pk, f"{version.progress:.0f}", f"{version.progress:.0f}", version.stage,
    )


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    change_list_template = "admin/recommendations/modelversion/change_list.html"
    change_form_template = "admin/recommendations/modelversion/change_form.html"
    list_display = ("id", "model_name", "status_badge", "progress_bar", "main_metric", "n_events", "n_users",
                    "n_items", "duration", "created_at", "activated_at")
    list_display_links = ("id", "model_name")
    list_filter = ("status", "model_name", "forced")
    search_fields = ("model_name", "task_id", "error", "promotion_note")
    list_per_page = 50
    actions = ["activate_selected"]
    fieldsets = (
        (None, {"fields": ("model_name", "status_badge", "progress_bar", "stage", "forced", "promotion_note",
                           "error_block", "task_id")}),
        ("Data", {"fields": ("data_start", "data_end", "n_users", "n_items", "n_events")}),
        ("Results", {"fields": ("metrics_table", "timings_table", "params_block")}),
        ("Artifacts", {"fields": ("artifact_path", "checksums_block")}),
        ("Lifecycle", {"fields": ("created_at", "heartbeat_at", "finished_at", "activated_at")}),
    )

    # -- read-only: versions are written by the pipeline only --------------------------------------------
    def get_readonly_fields(self, request, obj=None):
        computed = ["status_badge", "progress_bar", "error_block", "metrics_table", "timings_table", "params_block",
                    "checksums_block"]
        return [field.name for field in ModelVersion._meta.fields] + computed

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # artifacts are pruned by the pipeline (keep_versions); rows stay as history

    # -- columns -------------------------------------------------------------------------------------------
    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: ModelVersion):
        return format_html(
            '<span style="background:{};color:#fff;padding:1px 8px;border-radius:8px;white-space:nowrap">{}</span>',
            STATUS_COLORS.get(obj.status, "#6c757d"), obj.get_status_display(),
        )

    @admin.display(description="progress")
    def progress_bar(self, obj: ModelVersion):
        return _progress_bar(obj)

    @admin.display(description="main metric")
    def main_metric(self, obj: ModelVersion):
        metric = recommender_settings_get().promotion_metric
        value = obj.metrics.get(metric)
        return "-" if value is None else format_html('<span title="{}">{}</span>', metric, f"{value:.4f}")

    @admin.display(description="seconds")
    def duration(self, obj: ModelVersion):
        total = obj.timings.get("total")
        return "-" if total is None else f"{total:.1f}"

    @admin.display(description="error")
    def error_block(self, obj: ModelVersion):
        return format_html('<pre style="white-space:pre-wrap;color:#b02a37">{}</pre>', obj.error) if obj.error else "-"

    @admin.display(description="metrics")
    def metrics_table(self, obj: ModelVersion):
        return _table(obj.metrics, digits=4)

    @admin.display(description="timings (s)")
    def timings_table(self, obj: ModelVersion):
        return _table(obj.timings, digits=2, order=STAGE_ORDER)

    @admin.display(description="parameters")
    def params_block(self, obj: ModelVersion):
        return format_html("<pre>{}</pre>", json.dumps(obj.params, indent=2, sort_keys=True))

    @admin.display(description="checksums (sha256)")
    def checksums_block(self, obj: ModelVersion):
        return _table(obj.checksums)

    # -- actions -------------------------------------------------------------------------------------------
    @admin.action(description="Activate the selected version (rollback / force)", permissions=["change"])
    def activate_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.WARNING)
            return
        self._activate(request, queryset.get().pk)

    def _activate(self, request: HttpRequest, version_id: int) -> None:
        try:
            version = model_version_activate(version_id=version_id, note=f"Activated by {request.user} in the admin.")
        except ArtifactVerificationError as exc:
            self.message_user(request, f"Version {version_id} was not activated: its files cannot be used ({exc}). "
                                       "The active version is unchanged; activate another version or retrain.",
                              messages.ERROR)
            return
        except Exception as exc:
            self.message_user(request, f"Version {version_id} was not activated: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Version {version.pk} ({version.model_name}) is now active.", messages.SUCCESS)

    # -- extra views ---------------------------------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("retrain/", wrap(self.retrain_view), name="recommendations_modelversion_retrain"),
            path("progress/", wrap(self.progress_view), name="recommendations_modelversion_progress"),
            path("<int:version_id>/activate/", wrap(self.activate_view), name="recommendations_modelversion_activate"),
        ] + super().get_urls()

    def retrain_view(self, request: HttpRequest):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        model_name = request.POST.get("model") or None
        force = request.POST.get("force") == "on"
        try:
            versions = training_trigger(model_names=[model_name] if model_name else None, force=force)
        except ValueError as exc:
            self.message_user(request, f"Retrain not started: {exc}", messages.ERROR)
        else:
            for version in versions:
                version.refresh_from_db()  # in process (embedded default) it has already been trained
            if versions:
                listing = ", ".join(f"{v.model_name} v{v.pk} ({v.get_status_display().lower()})" for v in versions)
                self.message_user(request, f"Retrain requested: {listing}.", messages.SUCCESS)
            else:
                self.message_user(request, "No models to train: add some to the recommender settings' "
                                           "training models.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:recommendations_modelversion_changelist"))

    def activate_view(self, request: HttpRequest, version_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        get_object_or_404(ModelVersion, pk=version_id)
        self._activate(request, version_id)
        return HttpResponseRedirect(reverse("admin:recommendations_modelversion_change", args=[version_id]))

    def progress_view(self, request: HttpRequest):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse({"versions": model_versions_progress()})

    def changelist_view(self, request, extra_context=None):
        settings = recommender_settings_get()
        extra_context = {
            **(extra_context or {}),
            "training_models": [entry["name"] for entry in settings.training_models],
            "any_pending": ModelVersion.objects.filter(status__in=PENDING_STATUSES).exists(),
        }
        return super().changelist_view(request, extra_context=extra_context)

    def _files_problem(self, version: ModelVersion | None) -> str | None:
        """Why a kept version cannot be activated (its files missing or altered), None when it can; hashes them."""
        if version is None or version.status not in ("ready", "retired"):
            return "not ready"
        try:
            version_artifacts_verify(artifact_path=version.artifact_path, checksums=version.checksums)
        except ArtifactVerificationError as exc:
            return str(exc)
        return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        problem = self._files_problem(version)
        if version is not None and version.status in ("ready", "retired") and problem and request.method == "GET":
            self.message_user(request, f"Activating (rolling back to) version {version.pk} is not offered: its files "
                                       f"cannot be used ({problem}).", messages.WARNING)
        extra_context = {
            **(extra_context or {}),
            "can_activate": problem is None,
            "is_pending": version is not None and version.status in PENDING_STATUSES,
            "show_save": False,  # nothing here is edited by hand
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context=extra_context)


def _table(values: dict, digits: int | None = None, order: tuple[str, ...] = ()):
    if not values:
        return "-"
    rank = {key: n for n, key in enumerate(order)}
    keys = sorted(values, key=lambda key: (rank.get(key, len(rank)), key))

    def fmt(value):
        if digits is not None and isinstance(value, float):
            return f"{value:.{digits}f}"
        return value

    rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((key, fmt(values[key])) for key in keys))
    return format_html('<table style="min-width:20em">{}</table>', rows)
