from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from users.models import AuthToken, Preferences, User


class PreferencesInline(admin.StackedInline):
    model = Preferences
    can_delete = False
    filter_horizontal = ("excluded_categories",)
    raw_id_fields = ("hidden_items",)


@admin.register(User)
class VitrineUserAdmin(UserAdmin):
    inlines = [PreferencesInline]


@admin.register(Preferences)
class PreferencesAdmin(admin.ModelAdmin):
    list_display = ("user", "diversity_level", "exploration_level", "personalization_enabled", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    raw_id_fields = ("user", "hidden_items")
    filter_horizontal = ("excluded_categories",)


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    """API tokens: seen and revoked here (deleting one revokes it), never created nor shown (only digests are kept)."""

    list_display = ("id", "user", "name", "created", "expiry")
    list_select_related = ("user",)
    search_fields = ("user__username", "name")
    fields = ("user", "name", "created", "expiry")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
