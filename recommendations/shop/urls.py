"""Site pages of the recommendations app (feed actions, swipe, onboarding, preferences, cart, wellbeing)."""
from django.urls import path

from recommendations.shop import views

urlpatterns = [
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
]
