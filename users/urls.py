from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from users import forms, views

# Django's password views with the site's templates and forms. A saved new password revokes every API token of the
# user (users.receivers); the change page keeps the current session signed in.
password_urls = [
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="users/password_change_form.html",
            form_class=forms.PasswordChangeForm,
            success_url=reverse_lazy("password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="users/password_change_done.html"),
        name="password_change_done",
    ),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="users/password_reset_form.html",
            form_class=forms.PasswordResetForm,
            email_template_name="users/password_reset_email.txt",
            subject_template_name="users/password_reset_subject.txt",
            success_url=reverse_lazy("password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="users/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="users/password_reset_confirm.html",
            form_class=forms.SetPasswordForm,
            success_url=reverse_lazy("password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="users/password_reset_complete.html"),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    *password_urls,
    path("accounts/tokens/", views.auth_tokens, name="auth-tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", views.auth_token_delete, name="auth-token-revoke"),
    path("accounts/data/export/", views.my_data_export, name="my-data-export"),
    path("accounts/delete/", views.account_delete, name="account-delete"),
]
