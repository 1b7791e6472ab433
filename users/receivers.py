"""Receivers that keep the token authentication cache (``users.authentication``) in step with the database."""
from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from users.authentication import auth_cache_forget


@receiver(post_save, sender=Token, dispatch_uid="users.auth_cache.token_saved")
@receiver(post_delete, sender=Token, dispatch_uid="users.auth_cache.token_deleted")
def _token_changed(sender, instance: Token, **kwargs) -> None:
    auth_cache_forget(token_keys=[instance.key])


# A deleted user needs no receiver: the delete cascades to the token, whose post_delete drops the entry.
@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="users.auth_cache.user_saved")
def _user_changed(sender, instance, **kwargs) -> None:
    auth_cache_forget(user_id=instance.pk)
