from django.urls import path

from catalog import views

urlpatterns = [
    path("categories/", views.category_index, name="category-index"),
    path("search/", views.search, name="search"),
]
