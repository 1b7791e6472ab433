from django.contrib import admin

from recommendations.models import Event, RecommenderSettings
from recommendations.services.settings import recommender_settings_invalidate


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "event_type", "item", "user", "session_key", "value")
    list_filter = ("event_type",)
    search_fields = ("client_event_id", "user__username", "item__sku")
    raw_id_fields = ("user", "item")
    list_select_related = ("user", "item")
    date_hierarchy = "timestamp"
    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over millions of events on every page load is too slow


@admin.register(RecommenderSettings)
class RecommenderSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "popularity_half_life_hours", "popularity_window_days", "updated_at")

    def has_add_permission(self, request) -> bool:  # singleton: edited, never added twice
        return not RecommenderSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        recommender_settings_invalidate()
