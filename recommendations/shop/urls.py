"""Site pages of the recommendations app (home, category and item pages, feed actions, swipe, onboarding,
preferences, cart, wellbeing, my data history)."""
from django.urls import path

from recommendations.shop import my_data, pages, views

urlpatterns = [
    path("", pages.home, name="home"),
    path("c/<slug:slug>/", pages.category_detail, name="category-detail"),
    path("items/<int:pk>/", pages.item_detail, name="item-detail"),
    path("welcome/", views.onboarding, name="onboarding"),
    path("welcome/items/", views.onboarding_items, name="onboarding-items"),
    path("swipe/", views.swipe, name="swipe"),
    path("swipe/decide/", views.swipe_decide, name="swipe-decide"),
    path("preferences/", views.preferences, name="preferences"),
    path("preferences/hidden/<int:item_id>/undo/", views.not_interested_undo_view, name="not-interested-undo"),
    path("feed/react/", views.react, name="react"),
    path("feed/not-interested/", views.not_interested, name="not-interested"),
    path("feed/wellbeing/", views.wellbeing_ping, name="wellbeing-ping"),
    path("feed/wellbeing/dismiss/", views.wellbeing_dismiss_view, name="wellbeing-dismiss"),
    path("cart/", views.cart, name="cart"),
    path("cart/add/<int:item_id>/", views.cart_add_view, name="cart-add"),
    path("cart/remove/<int:item_id>/", views.cart_remove_view, name="cart-remove"),
    path("cart/checkout/", views.cart_checkout_view, name="cart-checkout"),
    path("accounts/data/", my_data.my_data, name="my-data"),
    path("accounts/data/events/<int:event_id>/delete/", my_data.my_data_event_delete, name="my-data-event-delete"),
    path("accounts/data/reset/", my_data.history_reset, name="history-reset"),
]
