"""Catalog pages that show recommendations: the home page ("For you" when signed in, popular items when not), a
category (with what is popular in it) and an item (similar items, also bought). Views only parse input, call
selectors and render; the pages without recommendations (category index, search) stay in ``catalog.views``.
"""
from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from catalog.forms import ItemFilterForm
from catalog.selectors import (
    category_ancestors,
    category_children,
    category_descendant_ids,
    category_get,
    category_list_with_counts,
    item_get,
    item_list,
)
from catalog.views import PAGE_SIZE
from recommendations.events import actor_from_request
from recommendations.serving import items_also_bought, popular_items, similar_items_get
from recommendations.shop.views import for_you_context

HOME_POPULAR_LIMIT = 12
SIMILAR_LIMIT = 8
ALSO_BOUGHT_LIMIT = 8
CATEGORY_POPULAR_LIMIT = 6


def home(request: HttpRequest) -> HttpResponse:
    """Signed in: the "For you" feed. Anonymous: popular items and categories."""
    if request.user.is_authenticated:
        return render(request, "catalog/home.html", for_you_context(request))
    context = {
        "popular": popular_items(limit=HOME_POPULAR_LIMIT),
        "categories": category_list_with_counts(top_level_only=True),
    }
    return render(request, "catalog/home.html", context)


def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    category = category_get(slug_or_id=slug)
    if category is None:
        raise Http404("No such category.")
    ancestors = category_ancestors(category=category)
    form = ItemFilterForm(request.GET)
    filters = form.selector_filters()
    items = item_list(category=category, **filters)
    context = {
        "category": category,
        "ancestors": ancestors,
        "nav_active": (ancestors[0] if ancestors else category).slug,
        "children": category_children(category=category),
        "form": form,
        "sort": filters["ordering"],
        "page": Paginator(items, PAGE_SIZE).get_page(request.GET.get("page")),
        "popular": popular_items(
            limit=CATEGORY_POPULAR_LIMIT, category_ids=category_descendant_ids(category=category)
        ),
    }
    return render(request, "catalog/category_detail.html", context)


def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_get(item_id=pk)
    if item is None:
        raise Http404("No such item.")
    ancestors = [*category_ancestors(category=item.category), item.category]
    similar = similar_items_get(item=item, actor=actor_from_request(request, create=False), n=SIMILAR_LIMIT, session=request.session)
    context = {
        "item": item,
        "ancestors": ancestors,
        "nav_active": ancestors[0].slug,
        "similar": similar,
        "also_bought": items_also_bought(item_id=item.pk, limit=ALSO_BOUGHT_LIMIT),
    }
    return render(request, "catalog/item_detail.html", context)
