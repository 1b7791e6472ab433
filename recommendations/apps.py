from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recommendations"

    def ready(self) -> None:
        # Cross-package and cross-app side effects are signal receivers: the sender never imports the listener.
        from recommendations.serving import receivers as serving_receivers
        from recommendations.shop import receivers as shop_receivers

        del serving_receivers, shop_receivers
