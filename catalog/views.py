"""Catalog pages without recommendations (category index, search). Views only parse input, call selectors and render.

Home, category and item pages show recommendations: ``recommendations.shop.pages``.
"""
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from catalog.forms import SearchFilterForm
from catalog.selectors import category_list_with_counts, item_list

PAGE_SIZE = 24  # listing pages: search here, a category in recommendations.shop.pages
SEARCH_MAX_LENGTH = 200


def category_index(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/category_index.html", {"categories": category_list_with_counts()})


def search(request: HttpRequest) -> HttpResponse:
    """Full-text search on PostgreSQL, word matching elsewhere; sorted by relevance unless asked otherwise."""
    query = " ".join(request.GET.get("q", "").split())[:SEARCH_MAX_LENGTH]
    form = SearchFilterForm(request.GET)
    filters = form.selector_filters()
    page = None
    if query:
        page = Paginator(item_list(query=query, **filters), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "catalog/search.html", {"query": query, "page": page, "form": form, "sort": filters["ordering"]})
