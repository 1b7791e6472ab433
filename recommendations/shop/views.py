"""Site pages of the recommendations app: the "For you" feed (on the home page), swipe mode, onboarding,
"Your recommendations" (preferences), reactions, the cart and the wellbeing notice.

Views parse input, call one service or selector and render; JSON answers go to the site's own scripts
(``static/js/feed.js``, ``swipe.js``), and every form also works without JavaScript (redirect + message).
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from catalog.models import Item
from catalog.selectors import category_list_with_counts, category_tree, item_get
from common.exceptions import ErrorCode, error_from_exception, json_error_response, json_response_from_error
from common.parsing import ascii_int
from common.redirects import next_url_get
from common.views import wants_json
from recommendations.events import Actor, EventBatchError, actor_from_request
from recommendations.serving import (
    CursorError,
    FeedbackError,
    RecommendationPage,
    feed_recommendations_get,
    feedback_not_interested,
)
from recommendations.shop.cart import cart_add, cart_checkout, cart_get, cart_remove
from recommendations.shop.forms import WEIGHT_STEP, OnboardingCategoriesForm, OnboardingItemsForm, PreferencesForm
from recommendations.shop.onboarding import onboarding_complete
from recommendations.shop.reactions import not_interested_undo, reaction_record
from recommendations.shop.selectors import onboarding_item_choices, user_needs_onboarding
from recommendations.shop.wellbeing import wellbeing_activity, wellbeing_dismiss
from users.selectors import preferences_get
from users.services import preferences_controls_update

FEED_PAGE_SIZE = 12
SWIPE_BATCH = 1


# ------------------------------------------------------------------------------------------------ helpers
def safe_next(request: HttpRequest, default: str) -> str:
    return next_url_get(request) or default


def post_int(request: HttpRequest, name: str) -> int | None:
    return ascii_int(request.POST.get(name, ""))


def posted_item(request: HttpRequest) -> Item:
    """The active item named by the form's ``item`` field; ``Http404`` (JSON for scripts) when there is none."""
    item_id = post_int(request, "item")
    item = item_get(item_id=item_id) if item_id is not None else None
    if item is None:
        raise Http404("No such item.")
    return item


def card_data(entry, *, request_id: str) -> dict:
    """One recommended item as the site's scripts draw it (same fields as the server-rendered card)."""
    item = entry.item
    return {
        "id": item.pk,
        "title": item.title,
        "url": reverse("item-detail", args=[item.pk]),
        "price": f"{item.price:,.2f}",
        "image_url": item.image_url,
        "category": {"id": item.category.id, "name": item.category.name},
        "explanation": entry.explanation,
        "source": entry.source,
        "request_id": request_id,
    }


# --------------------------------------------------------------------------------------------------- feed
def for_you_context(request: HttpRequest) -> dict:
    """The first page of the signed-in user's "For you" feed, for the home page (later pages come from the API)."""
    if not request.user.is_authenticated:
        return {}
    actor = Actor(user_id=request.user.pk)
    page: RecommendationPage = feed_recommendations_get(actor=actor, n=FEED_PAGE_SIZE, session=request.session)
    return {
        "feed": page,
        "feed_page_size": FEED_PAGE_SIZE,
        "needs_onboarding": user_needs_onboarding(user_id=request.user.pk),
        "wellbeing": wellbeing_activity(session=request.session),
    }


@require_POST
def wellbeing_ping(request: HttpRequest) -> JsonResponse:
    """The feed loaded another page: mark activity; answers whether to show the break notice."""
    status = wellbeing_activity(session=request.session)
    return JsonResponse({"show": status.show, "minutes": status.minutes, "limit": status.limit})


@require_POST
def wellbeing_dismiss_view(request: HttpRequest) -> HttpResponse:
    wellbeing_dismiss(session=request.session)
    if wants_json(request):
        return JsonResponse({"dismissed": True})
    return redirect(safe_next(request, reverse("home")))


@require_POST
def react(request: HttpRequest) -> HttpResponse:
    """Like or skip an item (feed cards, item pages). JSON for scripts, redirect back otherwise."""
    item = posted_item(request)
    reaction = request.POST.get("reaction", "")
    try:
        result = reaction_record(
            actor=actor_from_request(request), item=item, reaction=reaction, surface=request.POST.get("surface", "feed"),
            client_event_id=request.POST.get("client_event_id", ""), request_id=request.POST.get("request_id", ""),
        )
    except (ValidationError, EventBatchError) as error:
        if wants_json(request):
            return json_response_from_error(error_from_exception(error))
        messages.error(request, "That did not work; please try again.")
        return redirect(safe_next(request, item.get_absolute_url()))
    if wants_json(request):
        return JsonResponse({"recorded": result.accepted == 1, "reaction": reaction, "item": item.pk})
    messages.success(request, f"You liked “{item.title}”." if reaction == "like" else f"Skipped “{item.title}”.")
    return redirect(safe_next(request, item.get_absolute_url()))


@require_POST
def not_interested(request: HttpRequest) -> HttpResponse:
    """"Not interested": hide the item (``scope=item``) or its whole category (``scope=category``)."""
    item = posted_item(request)
    scope = request.POST.get("scope", "item")
    try:
        result = feedback_not_interested(
            actor=actor_from_request(request), item=item, scope=scope, request_id=request.POST.get("request_id", ""), session=request.session
        )
    except FeedbackError as error:
        if wants_json(request):
            return json_error_response(detail=str(error), code=ErrorCode.INVALID)
        messages.error(request, str(error))
        return redirect(safe_next(request, reverse("home")))
    if wants_json(request):
        return JsonResponse(
            {"scope": scope, "item": item.pk, "category": {"id": item.category_id, "name": item.category.name},
             "hidden_items": result.hidden_items, "excluded_categories": result.excluded_categories}
        )
    if scope == "category":
        messages.success(request, f"You won't see {item.category.name} in your recommendations. Change this in Your recommendations.")
    else:
        messages.success(request, f"“{item.title}” is hidden from your recommendations.")
    return redirect(safe_next(request, reverse("home")))


@require_POST
def not_interested_undo_view(request: HttpRequest, item_id: int) -> HttpResponse:
    not_interested_undo(actor=actor_from_request(request), item_id=item_id, session=request.session)
    if wants_json(request):
        return JsonResponse({"item": item_id, "hidden": False})
    messages.success(request, "The item can be recommended again.")
    return redirect(safe_next(request, reverse("preferences") if request.user.is_authenticated else reverse("home")))


# -------------------------------------------------------------------------------------------------- swipe
def _swipe_page(request: HttpRequest, actor: Actor, cursor: str) -> RecommendationPage:
    """The next card of a swipe feed session (``cursor``: the previous answer's; a new session when missing or stale).

    One card per decision, so every card is built with all the decisions before it and none is fetched in vain
    (a feed session never serves an item twice). The cursor travels with the page, not the session: concurrent
    tabs and requests never fight over a session row.
    """
    try:
        page = feed_recommendations_get(actor=actor, n=SWIPE_BATCH, cursor=cursor or None, session=request.session, surface="swipe")
    except CursorError:
        page = None
    if page is None or (not page.items and cursor):  # a stale cursor, or this feed session ran dry: start a new one
        page = feed_recommendations_get(actor=actor, n=SWIPE_BATCH, session=request.session, surface="swipe")
    return page


def swipe(request: HttpRequest) -> HttpResponse:
    """One card at a time: like or skip (buttons, arrow keys, touch). Works as plain forms without JavaScript."""
    actor = actor_from_request(request)
    page = _swipe_page(request, actor, request.GET.get("cursor", ""))
    cards = [card_data(entry, request_id=page.request_id) for entry in page.items]
    return render(request, "recommendations/swipe.html", {"page": page, "cards": cards})


@require_POST
def swipe_decide(request: HttpRequest) -> HttpResponse:
    """Record the decision, then answer the next card, built with it (JSON), or show it (redirect)."""
    item = posted_item(request)
    actor = actor_from_request(request)
    cursor = request.POST.get("cursor", "")[:1000]
    try:
        reaction_record(
            actor=actor, item=item, reaction=request.POST.get("decision", ""), surface="swipe",
            client_event_id=request.POST.get("client_event_id", ""), request_id=request.POST.get("request_id", ""),
        )
    except (ValidationError, EventBatchError) as error:
        if wants_json(request):
            return json_response_from_error(error_from_exception(error))
        messages.error(request, "That did not work; please try again.")
        return redirect("swipe")
    if not wants_json(request):
        return redirect(f"{reverse('swipe')}?{urlencode({'cursor': cursor})}" if cursor else reverse("swipe"))
    page = _swipe_page(request, actor, cursor)
    return JsonResponse(
        {"request_id": page.request_id, "next_cursor": page.next_cursor, "cards": [card_data(e, request_id=page.request_id) for e in page.items]}
    )


# --------------------------------------------------------------------------------------------- onboarding
@login_required
def onboarding(request: HttpRequest) -> HttpResponse:
    """Step 1: favourite categories."""
    form = OnboardingCategoriesForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        query = "&".join(f"categories={category.pk}" for category in form.cleaned_data["categories"])
        return redirect(f"{reverse('onboarding-items')}?{query}")
    chosen = {pk for pk in map(ascii_int, request.POST.getlist("categories")) if pk is not None}
    tiles = [
        {"category": category, "count": category.item_count, "checked": category.pk in chosen}
        for category in category_list_with_counts(top_level_only=True)
    ]
    return render(request, "recommendations/onboarding.html", {"form": form, "tiles": tiles})


@login_required
def onboarding_items(request: HttpRequest) -> HttpResponse:
    """Step 2: a few items from those categories; saving both steps starts the first feed."""
    form = OnboardingItemsForm(request.POST if request.method == "POST" else request.GET)
    if request.method == "POST" and form.is_valid():
        try:
            result = onboarding_complete(
                user=request.user,
                category_ids=[category.pk for category in form.cleaned_data["categories"]],
                item_ids=[item.pk for item in form.cleaned_data["items"]],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            liked = f" and {result.liked} item{'s' if result.liked != 1 else ''} you like" if result.liked else ""
            messages.success(request, f"Thanks! Your feed now starts from your favourite categories{liked}.")
            return redirect("home")
    categories = form.cleaned_data.get("categories", []) if form.is_bound and form.is_valid() else []
    category_ids = [category.pk for category in categories]
    choices = onboarding_item_choices(category_ids=category_ids, limit=12)
    return render(
        request, "recommendations/onboarding_items.html",
        {"form": form, "choices": choices, "categories": categories, "category_ids": category_ids},
    )


# ---------------------------------------------------------------------------------------- preferences page
@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """"Your recommendations": category weights and exclusions, variety and discovery, pause, hidden items."""
    tree = category_tree()
    current = preferences_get(user=request.user)
    if request.method == "POST":
        form = PreferencesForm(request.POST, tree=tree)
        if form.is_valid():
            preferences_controls_update(
                user=request.user,
                category_weights=form.category_weights(),
                excluded_category_ids=form.cleaned_data["excluded"],
                diversity_level=form.cleaned_data["diversity_level"],
                exploration_level=form.cleaned_data["exploration_level"],
                personalization_enabled=not form.cleaned_data["pause_personalization"],
            )
            messages.success(request, "Saved. Your next feed follows these settings.")
            return redirect("preferences")
    else:
        weights = current.category_weights or {}
        initial = {
            "diversity_level": current.diversity_level,
            "exploration_level": current.exploration_level,
            "pause_personalization": not current.personalization_enabled,
            "excluded": current.excluded_category_ids,
        }
        for category, depth in tree:
            if depth == 0:
                initial[PreferencesForm.weight_field(category.pk)] = float(weights.get(str(category.pk), 1.0))
        form = PreferencesForm(initial=initial, tree=tree)
    if form.is_bound:  # a form with errors shows what was sent
        excluded = {pk for pk in map(ascii_int, request.POST.getlist("excluded")) if pk is not None}
    else:
        excluded = set(current.excluded_category_ids)
    rows = []
    for category, depth in tree:
        weight_field = form[PreferencesForm.weight_field(category.pk)] if depth == 0 else None
        rows.append({"category": category, "depth": depth, "excluded": category.pk in excluded, "weight": weight_field})
    return render(
        request, "recommendations/preferences.html",
        {"form": form, "rows": rows, "hidden_items": list(current.hidden_items.select_related("category")), "weight_step": WEIGHT_STEP},
    )


# --------------------------------------------------------------------------------------------------- cart
def cart(request: HttpRequest) -> HttpResponse:
    return render(request, "recommendations/cart.html", {"cart": cart_get(session=request.session)})


@require_POST
def cart_add_view(request: HttpRequest, item_id: int) -> HttpResponse:
    item = item_get(item_id=item_id)
    if item is None:
        raise Http404("No such item.")
    quantity = post_int(request, "quantity") or 1
    try:
        current = cart_add(session=request.session, actor=actor_from_request(request), item=item, quantity=quantity)
    except ValidationError as error:
        if wants_json(request):
            return json_response_from_error(error_from_exception(error))
        messages.error(request, error.messages[0])
        return redirect(item.get_absolute_url())
    if wants_json(request):
        return JsonResponse({"count": current.count, "total": f"{current.total:,.2f}"})
    if request.POST.get("buy_now"):
        return redirect("cart")
    messages.success(request, f"Added “{item.title}” to your cart.")
    return redirect(safe_next(request, item.get_absolute_url()))


@require_POST
def cart_remove_view(request: HttpRequest, item_id: int) -> HttpResponse:
    cart_remove(session=request.session, item_id=item_id)
    messages.info(request, "Removed from your cart.")
    return redirect("cart")


@require_POST
def cart_checkout_view(request: HttpRequest) -> HttpResponse:
    try:
        order = cart_checkout(session=request.session, actor=actor_from_request(request))
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("cart")
    return render(request, "recommendations/order_done.html", {"order": order})

