from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from users.models import Preferences, User


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
