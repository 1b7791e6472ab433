"""Receivers that keep API tokens and their auth cache (``users.authentication``) in step with the database."""
from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from users.authentication import auth_cache_forget
from users.models import AuthToken
from users.services import auth_token_revoke_all


@receiver(post_save, sender=AuthToken, dispatch_uid="users.auth_cache.token_saved")
@receiver(post_delete, sender=AuthToken, dispatch_uid="users.auth_cache.token_deleted")
def _token_changed(sender, instance: AuthToken, **kwargs) -> None:
    auth_cache_forget(digests=[instance.digest])


# A deleted user needs no receiver: the delete cascades to the tokens, whose post_delete drops the entries.
@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="users.auth_cache.user_saved")
def _user_changed(sender, instance, raw: bool = False, **kwargs) -> None:
    # ``_password`` is set by ``set_password`` until the save that stores it: Django's own meaning of "the password
    # changed" (password_validation.password_changed). Every way to change a password goes through it: the
    # password change and reset pages, the admin's form, ``manage.py changepassword``; a hash upgrade at login
    # clears it first and revokes nothing.
    if not raw and getattr(instance, "_password", None) is not None:
        auth_token_revoke_all(user_id=instance.pk)
    auth_cache_forget(user_id=instance.pk)
