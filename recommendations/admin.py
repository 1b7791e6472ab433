from django.contrib import admin

# Each package registers its own admins; importing them here is what runs the registrations.
from recommendations.models import Event
from recommendations.serving import admin as serving_admin
from recommendations.training import admin as training_admin

__all__ = ["EventAdmin", "serving_admin", "training_admin"]


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
