"""Read-side queries for the catalog."""
from decimal import Decimal

from django.db.models import Q, QuerySet

from catalog.models import Category, Item

ITEM_ORDERINGS = {
    "newest": ("-created_at", "-id"),
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "title": ("title", "id"),
}


def category_descendant_ids(*, category: Category) -> list[int]:
    """Ids of ``category`` and every category below it (breadth-first, one query per tree level)."""
    ids = [category.pk]
    frontier = [category.pk]
    while frontier:
        frontier = list(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        ids.extend(frontier)
    return ids


def category_get(*, slug_or_id: str) -> Category | None:
    lookup = Q(slug=slug_or_id)
    if str(slug_or_id).isdigit():
        lookup |= Q(pk=int(slug_or_id))
    return Category.objects.filter(lookup).first()


def category_list(*, top_level_only: bool = False) -> QuerySet[Category]:
    queryset = Category.objects.all()
    if top_level_only:
        queryset = queryset.filter(parent__isnull=True)
    return queryset


def item_list(
    *,
    category: Category | None = None,
    query: str = "",
    in_stock: bool | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    ordering: str = "newest",
    include_inactive: bool = False,
) -> QuerySet[Item]:
    """Items matching the filters; the text query matches title, description and SKU."""
    queryset = Item.objects.select_related("category")
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    if category is not None:
        queryset = queryset.filter(category_id__in=category_descendant_ids(category=category))
    if query:
        for term in query.split()[:8]:
            queryset = queryset.filter(Q(title__icontains=term) | Q(description__icontains=term) | Q(sku__iexact=term))
    if in_stock is not None:
        queryset = queryset.filter(in_stock=in_stock)
    if min_price is not None:
        queryset = queryset.filter(price__gte=min_price)
    if max_price is not None:
        queryset = queryset.filter(price__lte=max_price)
    return queryset.order_by(*ITEM_ORDERINGS.get(ordering, ITEM_ORDERINGS["newest"]))


def item_get(*, item_id: int, include_inactive: bool = False) -> Item | None:
    queryset = Item.objects.select_related("category", "category__parent")
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    return queryset.filter(pk=item_id).first()
