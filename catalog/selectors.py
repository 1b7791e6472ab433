"""Read-side queries for the catalog."""
from decimal import Decimal

from django.db.models import Count, Q, QuerySet

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


def category_ancestors(*, category: Category) -> list[Category]:
    """The parent chain of ``category``, root first, ``category`` itself excluded (for breadcrumbs)."""
    chain: list[Category] = []
    seen = {category.pk}
    parent_id = category.parent_id
    while parent_id is not None and parent_id not in seen:  # ``seen`` guards against a corrupt cycle
        parent = Category.objects.filter(pk=parent_id).only("pk", "name", "slug", "parent_id").first()
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.pk)
        parent_id = parent.parent_id
    chain.reverse()
    return chain


def category_children(*, category: Category) -> QuerySet[Category]:
    return Category.objects.filter(parent=category)


def category_item_counts() -> dict[int, int]:
    """Active items per category id, each count including every category below it (two queries)."""
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    direct = dict(
        Item.objects.filter(is_active=True).values_list("category_id").annotate(n=Count("id")).order_by()
    )
    totals = dict.fromkeys(parents, 0)
    for category_id, count in direct.items():
        seen: set[int] = set()
        node = category_id
        while node is not None and node not in seen:
            totals[node] = totals.get(node, 0) + count
            seen.add(node)
            node = parents.get(node)
    return totals


def category_list_with_counts(*, top_level_only: bool = False) -> list[Category]:
    """Categories, each with ``item_count``: active items in it and below it."""
    counts = category_item_counts()
    categories = list(category_list(top_level_only=top_level_only).select_related("parent"))
    for category in categories:
        category.item_count = counts.get(category.pk, 0)
    return categories
