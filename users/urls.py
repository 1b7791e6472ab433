from django.urls import path

from users import views

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/data/", views.my_data, name="my-data"),
    path("accounts/data/export/", views.my_data_export, name="my-data-export"),
    path("accounts/data/events/<int:event_id>/delete/", views.my_data_event_delete, name="my-data-event-delete"),
    path("accounts/data/reset/", views.history_reset, name="history-reset"),
    path("accounts/delete/", views.account_delete, name="account-delete"),
]
