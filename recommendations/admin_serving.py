"""Admin for serving: recommender settings (versioned) and impressions."""
from django.contrib import admin

from recommendations.models import Impression, RecommenderSettings, RecommenderSettingsVersion
from recommendations.services.settings import recommender_settings_invalidate, recommender_settings_version_bump


@admin.register(RecommenderSettings)
class RecommenderSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "version", "mmr_lambda", "exploration_rate", "updated_at")
    readonly_fields = ("version", "updated_at")

    def has_add_permission(self, request) -> bool:  # singleton: edited, never added twice
        return not RecommenderSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        recommender_settings_version_bump(instance=obj, changed_by=request.user)
        recommender_settings_invalidate()


@admin.register(RecommenderSettingsVersion)
class RecommenderSettingsVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "changed_by", "created_at")
    readonly_fields = ("version", "snapshot", "changed_by", "created_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Impression)
class ImpressionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "request_id", "user", "item", "position", "source", "model_version")
    list_filter = ("source", "surface")
    raw_id_fields = ("user", "item", "model_version")
    list_select_related = ("user", "item", "model_version")
    show_full_result_count = False
