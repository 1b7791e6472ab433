"""Who may sign up as whom: usernames that cannot impersonate (no look-alike letters), one account per email."""
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from users.models import User

# ASCII only: a Cyrillic "а" or a Greek "ο" looks like a Latin letter, so a name with one could pass for another
# user's. Django has no TR39 skeleton; restricting the alphabet closes the whole kind (and case is ignored below).
username_validator = RegexValidator(
    r"^[A-Za-z0-9@.+_-]+\Z",
    "Use only English letters (A-Z, a-z), digits and @ . + - _ in a username.",
    code="username_ascii",
)


def username_validate(*, username: str, exclude_pk: int | None = None) -> None:
    """Refuse a username that could pass for someone else's.

    Raises
    ------
    ValidationError
        ``username_ascii``: a character outside ASCII letters, digits and ``@.+-_``;
        ``username_taken``: another account has the same name ignoring case ("Admin" vs "admin").
    """
    username_validator(username)
    taken = User.objects.filter(username__iexact=username).exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError("A user with that username already exists.", code="username_taken")


def email_validate_unique(*, email: str, exclude_pk: int | None = None) -> None:
    """Refuse an email another account already uses, ignoring case (an empty email is allowed: it is optional).

    Raises
    ------
    ValidationError
        ``email_taken``.
    """
    if email and User.objects.filter(email__iexact=email.strip()).exclude(pk=exclude_pk).exists():
        raise ValidationError("An account with this email already exists.", code="email_taken")
