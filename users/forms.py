from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from users.identity import email_validate_unique, username_validate
from users.models import User


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SignupForm(UserCreationForm):
    """Username + optional email + password twice; validation only, ``users.services.user_create`` writes."""

    email = forms.EmailField(
        label="Email (optional)",
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_username(self) -> str:
        username = super().clean_username()  # Django's own check: taken, ignoring case
        if not self.has_error("username"):
            username_validate(username=username)  # look-alike letters (and the same check for services' callers)
        return username

    def clean_email(self) -> str:
        email = self.cleaned_data.get("email", "")
        email_validate_unique(email=email)
        return email


class AccountDeleteForm(forms.Form):
    """Deleting an account asks for its password (a session left open on a shared computer is not enough)."""

    password = forms.CharField(
        label="Your password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password



class NoLabelSuffix:
    """The site's forms show labels without Django's trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class AuthTokenCreateForm(NoLabelSuffix, forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, required=False, help_text="Where you will use it, e.g. “my phone” or “import script”."
    )


class PasswordChangeForm(NoLabelSuffix, auth_forms.PasswordChangeForm):
    pass


class PasswordResetForm(NoLabelSuffix, auth_forms.PasswordResetForm):
    pass


class SetPasswordForm(NoLabelSuffix, auth_forms.SetPasswordForm):
    pass
