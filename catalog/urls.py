from django.urls import path

from catalog import views

urlpatterns = [
    path("", views.home, name="home"),
    path("categories/", views.category_index, name="category-index"),
    path("c/<slug:slug>/", views.category_detail, name="category-detail"),
    path("items/<int:pk>/", views.item_detail, name="item-detail"),
    path("search/", views.search, name="search"),
]
