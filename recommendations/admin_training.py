"""Admin for the training pipeline: model versions."""
from django.contrib import admin

from recommendations.models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "model_name", "status", "progress", "n_events", "created_at", "activated_at")
    list_filter = ("status", "model_name")
    readonly_fields = [field.name for field in ModelVersion._meta.fields]
