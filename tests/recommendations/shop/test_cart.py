"""The session cart: adding and checking out record add_to_cart / purchase events; checkout is idempotent."""
from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.urls import reverse

from recommendations.events.ingest import Actor
from recommendations.models import Event, EventType
from recommendations.shop.cart import MAX_QUANTITY, cart_add, cart_checkout, cart_get, cart_remove
from tests.factories import ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    store = SessionStore()
    store.create()
    return store


@pytest.fixture
def things(db):
    return [ItemFactory(price=Decimal("10.00")), ItemFactory(price=Decimal("2.50")), ItemFactory(in_stock=False)]


class TestCartService:
    def test_add_merges_quantities_and_records_an_event_per_add(self, session, things):
        actor = Actor(session_key=session.session_key)
        cart_add(session=session, actor=actor, item=things[0])
        cart = cart_add(session=session, actor=actor, item=things[0], quantity=2)
        cart = cart_add(session=session, actor=actor, item=things[1])
        assert [(line.item, line.quantity) for line in cart.lines] == [(things[0], 3), (things[1], 1)]
        assert cart.total == Decimal("32.50") and cart.count == 4
        events = Event.objects.filter(session_key=session.session_key, event_type=EventType.ADD_TO_CART)
        assert sorted(events.values_list("value", flat=True)) == [1.0, 1.0, 2.0]

    def test_refuses_unavailable_items_and_silly_quantities(self, session, things):
        actor = Actor(session_key=session.session_key)
        with pytest.raises(ValidationError):
            cart_add(session=session, actor=actor, item=things[2])
        for quantity in (0, MAX_QUANTITY + 1):
            with pytest.raises(ValidationError):
                cart_add(session=session, actor=actor, item=things[0], quantity=quantity)
        cart_add(session=session, actor=actor, item=things[0], quantity=MAX_QUANTITY)
        assert cart_add(session=session, actor=actor, item=things[0]).lines[0].quantity == MAX_QUANTITY  # capped
        assert not Event.objects.filter(item=things[2]).exists()

    def test_remove_and_a_corrupt_session_value(self, session, things):
        actor = Actor(session_key=session.session_key)
        cart_add(session=session, actor=actor, item=things[0])
        assert cart_remove(session=session, item_id=things[0].pk).lines == []
        session["vitrine_cart"] = "garbage"
        assert cart_get(session=session).lines == []

    def test_checkout_records_purchases_once_and_empties_the_cart(self, session, things):
        user = UserFactory()
        actor = Actor(user_id=user.pk)
        cart_add(session=session, actor=actor, item=things[0], quantity=2)
        cart_add(session=session, actor=actor, item=things[1])
        token = cart_get(session=session).token
        order = cart_checkout(session=session, actor=actor)
        assert order.recorded == 2 and order.total == Decimal("22.50") and order.token == token
        purchases = Event.objects.filter(user=user, event_type=EventType.PURCHASE).order_by("item_id")
        assert [(e.item_id, e.value, e.client_event_id) for e in purchases] == [
            (things[0].pk, 2.0, f"purchase-{token}-{things[0].pk}"), (things[1].pk, 1.0, f"purchase-{token}-{things[1].pk}")
        ]
        assert purchases[0].context == {"surface": "checkout", "order": token, "quantity": 2}
        assert cart_get(session=session).lines == [] and cart_get(session=session).token != token
        with pytest.raises(ValidationError):
            cart_checkout(session=session, actor=actor)  # empty

    def test_replaying_an_old_cart_cannot_buy_twice(self, session, things):
        actor = Actor(session_key=session.session_key)
        cart_add(session=session, actor=actor, item=things[0])
        saved = dict(session["vitrine_cart"])
        cart_checkout(session=session, actor=actor)
        session["vitrine_cart"] = saved  # e.g. a restored session
        assert cart_checkout(session=session, actor=actor).recorded == 0
        assert Event.objects.filter(event_type=EventType.PURCHASE).count() == 1

    def test_an_item_that_went_out_of_stock_blocks_checkout(self, session, things):
        actor = Actor(session_key=session.session_key)
        cart_add(session=session, actor=actor, item=things[0])
        things[0].in_stock = False
        things[0].save()
        with pytest.raises(ValidationError, match="No longer in stock"):
            cart_checkout(session=session, actor=actor)


class TestCartPages:
    def test_add_view_then_checkout_as_an_anonymous_visitor(self, client, things):
        assert "Your cart is empty" in client.get(reverse("cart")).content.decode()
        response = client.post(reverse("cart-add", args=[things[0].pk]), {"quantity": "2"})
        assert response.status_code == 302 and response["Location"] == things[0].get_absolute_url()
        response = client.post(reverse("cart-add", args=[things[1].pk]), {"buy_now": "1"})
        assert response["Location"] == reverse("cart")
        html = client.get(reverse("cart")).content.decode()
        assert things[0].title in html and "$22.50" in html and "Place order" in html
        response = client.post(reverse("cart-checkout"))
        assert response.status_code == 200 and "Thank you!" in response.content.decode()
        session_key = client.session.session_key
        assert Event.objects.filter(session_key=session_key, user__isnull=True, event_type=EventType.PURCHASE).count() == 2
        assert "Your cart is empty" in client.get(reverse("cart")).content.decode()

    def test_signed_in_events_belong_to_the_user(self, client, things):
        user = UserFactory()
        client.force_login(user)
        response = client.post(reverse("cart-add", args=[things[0].pk]), HTTP_ACCEPT="application/json")
        assert response.json() == {"count": 1, "total": "10.00"}
        assert Event.objects.get(event_type=EventType.ADD_TO_CART).user == user

    def test_errors(self, client, things):
        assert client.post(reverse("cart-add", args=[999999])).status_code == 404
        response = client.post(reverse("cart-add", args=[things[2].pk]), HTTP_ACCEPT="application/json")
        assert response.status_code == 400 and response.json()["detail"] == "This item is not available."
        response = client.post(reverse("cart-checkout"), follow=True)
        assert "Your cart is empty." in response.content.decode()
        assert client.get(reverse("cart-checkout")).status_code == 405

    def test_remove_view(self, client, things):
        client.post(reverse("cart-add", args=[things[0].pk]))
        response = client.post(reverse("cart-remove", args=[things[0].pk]), follow=True)
        assert "Your cart is empty" in response.content.decode()
