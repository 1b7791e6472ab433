"""A simple cart kept in the browser session; adding and checking out record ``add_to_cart`` / ``purchase`` events.

There is no payment: checkout turns the cart into purchase events and empties it. The cart has a token that
changes at every checkout; purchase events are named after it (``purchase-<token>-<item>``), so a repeated
checkout of the same cart (double click, replayed form) cannot record a purchase twice.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError

from catalog.models import Item
from recommendations.events import Actor, event_ingest
from recommendations.models import EventType

SESSION_CART_KEY = "vitrine_cart"
MAX_QUANTITY = 10
MAX_LINES = 50


@dataclass(frozen=True)
class CartLine:
    item: Item
    quantity: int

    @property
    def subtotal(self) -> Decimal:
        return self.item.price * self.quantity


@dataclass(frozen=True)
class Cart:
    token: str
    lines: list[CartLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.subtotal for line in self.lines), Decimal("0"))

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass(frozen=True)
class Order:
    token: str
    lines: list[CartLine]
    total: Decimal
    recorded: int  # purchase events newly recorded


def _cart_data(session) -> dict:
    data = session.get(SESSION_CART_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("lines"), dict) or not isinstance(data.get("token"), str):
        data = {"token": uuid.uuid4().hex[:16], "lines": {}}
    return data


def _cart_save(session, data: dict) -> None:
    session[SESSION_CART_KEY] = data
    session.modified = True


def cart_get(*, session) -> Cart:
    """The session's cart with its items (available items only; one query)."""
    data = _cart_data(session)
    quantities = {int(pk): int(qty) for pk, qty in data["lines"].items() if str(pk).isdigit()}
    items = Item.objects.filter(pk__in=quantities, is_active=True).select_related("category").in_bulk()
    lines = [CartLine(item=items[pk], quantity=qty) for pk, qty in quantities.items() if pk in items]
    return Cart(token=data["token"], lines=lines)


def cart_add(*, session, actor: Actor, item: Item, quantity: int = 1) -> Cart:
    """Add ``quantity`` of an available item and record an ``add_to_cart`` event."""
    if not item.is_available:
        raise ValidationError("This item is not available.")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(f"Quantity must be between 1 and {MAX_QUANTITY}.")
    data = _cart_data(session)
    key = str(item.pk)
    if key not in data["lines"] and len(data["lines"]) >= MAX_LINES:
        raise ValidationError(f"A cart holds at most {MAX_LINES} different items.")
    data["lines"][key] = min(int(data["lines"].get(key, 0)) + quantity, MAX_QUANTITY)
    _cart_save(session, data)
    event_ingest(
        actor=actor,
        events=[{"item": item.pk, "event_type": EventType.ADD_TO_CART, "value": float(quantity), "context": {"surface": "cart"}}],
    )
    return cart_get(session=session)


def cart_remove(*, session, item_id: int) -> Cart:
    data = _cart_data(session)
    if data["lines"].pop(str(item_id), None) is not None:
        _cart_save(session, data)
    return cart_get(session=session)


def cart_checkout(*, session, actor: Actor) -> Order:
    """Record a purchase event per line, then empty the cart (with a new token). No payment."""
    cart = cart_get(session=session)
    if not cart.lines:
        raise ValidationError("Your cart is empty.")
    unavailable = [line.item.title for line in cart.lines if not line.item.in_stock]
    if unavailable:
        raise ValidationError(f"No longer in stock: {', '.join(unavailable)}. Remove it to check out.")
    result = event_ingest(
        actor=actor,
        events=[
            {
                "client_event_id": f"purchase-{cart.token}-{line.item.pk}",
                "item": line.item.pk,
                "event_type": EventType.PURCHASE,
                "value": float(line.quantity),
                "context": {"surface": "checkout", "order": cart.token, "quantity": line.quantity},
            }
            for line in cart.lines
        ],
    )
    _cart_save(session, {"token": uuid.uuid4().hex[:16], "lines": {}})
    return Order(token=cart.token, lines=cart.lines, total=cart.total, recorded=result.accepted)
