from django.contrib import admin

from catalog.models import Category, Item


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "parent")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    list_select_related = ("parent",)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("sku", "title", "category", "price", "in_stock", "is_active", "created_at")
    list_filter = ("is_active", "in_stock", "category")
    search_fields = ("sku", "title")
    list_select_related = ("category",)
    date_hierarchy = "created_at"
    list_per_page = 50
