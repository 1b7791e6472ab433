from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from catalog.selectors import ITEM_ORDERINGS, category_get, category_list, item_get, item_list
from recommendations.selectors import popular_items

PAGE_SIZE = 24


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/home.html", {"popular": popular_items(limit=12)})


def category_index(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/category_index.html", {"categories": category_list().select_related("parent")})


def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    category = category_get(slug_or_id=slug)
    if category is None:
        raise Http404("No such category.")
    ordering = request.GET.get("sort", "newest")
    if ordering not in ITEM_ORDERINGS:
        ordering = "newest"
    items = item_list(category=category, ordering=ordering, in_stock=True if request.GET.get("in_stock") else None)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"category": category, "page": page, "sort": ordering, "orderings": list(ITEM_ORDERINGS),
               "popular": popular_items(limit=6, category_ids=[category.pk])}
    return render(request, "catalog/category_detail.html", context)


def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_get(item_id=pk)
    if item is None:
        raise Http404("No such item.")
    return render(request, "catalog/item_detail.html", {"item": item})


def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    items = item_list(query=query) if query else item_list().none()
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "catalog/search.html", {"query": query, "page": page})
