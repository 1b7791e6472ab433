from django.urls import path

from users import views

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/data/export/", views.my_data_export, name="my-data-export"),
    path("accounts/delete/", views.account_delete, name="account-delete"),
]
