from django.contrib import admin

from recommendations import admin_serving, admin_training  # noqa: F401 - they register their admins
from recommendations.models import Event


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
