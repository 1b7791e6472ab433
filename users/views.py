"""Account pages: sign up, log in, log out, password change and reset, API tokens, data export and account
deletion. Writes go through ``users.services``.

The "My data" history pages are about events: ``recommendations.shop.my_data``.
"""
import json

from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from common.exceptions import ApplicationError
from common.redirects import next_url_get
from common.throttling import LoginRateThrottle, SignupRateThrottle, throttle_wait
from users.forms import AccountDeleteForm, AuthTokenCreateForm, LoginForm, SignupForm
from users.lockout import too_many_attempts_page
from users.selectors import auth_token_list
from users.services import (
    auth_token_create,
    auth_token_revoke,
    user_create,
    user_data_export,
    user_delete,
    user_session_history_claim,
)


def _safe_next(request: HttpRequest) -> str:
    """The ``next`` target when it is a path on this site, else ``""``."""
    return next_url_get(request, name=REDIRECT_FIELD_NAME)


def signup(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or "home")
    if request.method == "POST":  # every attempt counts: a flood of failed sign-ups also probes for usernames
        wait = throttle_wait(request=request, throttle_class=SignupRateThrottle)
        if wait is not None:
            return too_many_attempts_page(request, seconds=wait, what="sign-up attempts from your network")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data.get("email", ""),
            )
        except ValidationError as error:  # e.g. the username was taken between validation and save
            form.add_error(None, error)
        else:
            anonymous_session_key = request.session.session_key
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            user_session_history_claim(user=user, session_key=anonymous_session_key)
            messages.success(request, f"Welcome to Vitrine, {user.username}!")
            return redirect(next_url or "onboarding")
    return render(request, "users/signup.html", {"form": form, "next": next_url})


class LoginView(auth_views.LoginView):
    template_name = "users/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        # Per client address, shared with the token API; per account, django-axes locks out (users.lockout).
        wait = throttle_wait(request=request, throttle_class=LoginRateThrottle)
        if wait is not None:
            return too_many_attempts_page(request, seconds=wait, what="sign-in attempts from your network")
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        anonymous_session_key = self.request.session.session_key  # login gives the session a new key
        response = super().form_valid(form)
        user_session_history_claim(user=form.get_user(), session_key=anonymous_session_key)
        messages.success(self.request, f"Signed in as {form.get_user().username}.")
        return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default): a link cannot log anyone out."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have signed out.")
        return response


@login_required
def my_data_export(request: HttpRequest) -> HttpResponse:
    data = user_data_export(user=request.user)
    response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder, indent=2), content_type="application/json")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="vitrine-data-{request.user.username}-{stamp}.json"'
    return response


@login_required
def account_delete(request: HttpRequest) -> HttpResponse:
    """Confirm with the password, then delete the account, its events and its preferences."""
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        user_delete(user=user)
        messages.success(request, "Your account and all its data are deleted. Goodbye!")
        return redirect("home")
    return render(request, "users/account_delete.html", {"form": form})


@login_required
def auth_tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens: create one (shown once, on this answer only), see the live ones, revoke any."""
    form = AuthTokenCreateForm(request.POST or None)
    new_token = ""
    if request.method == "POST" and form.is_valid():
        try:
            _, new_token = auth_token_create(user=request.user, name=form.cleaned_data["name"])
        except ApplicationError as error:  # the per-user limit
            form.add_error(None, error.message)
        else:
            form = AuthTokenCreateForm()
    response = render(
        request, "users/tokens.html", {"form": form, "tokens": auth_token_list(user=request.user), "new_token": new_token}
    )
    response["Cache-Control"] = "no-store"  # a page holding a token stays out of every cache
    return response


@login_required
def auth_token_delete(request: HttpRequest, token_id: int) -> HttpResponse:
    """POST only: revoke one of the user's tokens."""
    if request.method != "POST":
        return redirect("auth-tokens")
    try:
        auth_token_revoke(user=request.user, token_id=token_id)
    except ApplicationError:
        messages.info(request, "That token was already revoked.")
    else:
        messages.success(request, "Token revoked: it no longer works.")
    return redirect("auth-tokens")
