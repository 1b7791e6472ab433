"""Read-side queries for the catalog."""
from decimal import Decimal

from django.db import connection
from django.db.models import Case, Count, F, FloatField, Q, QuerySet, Value, When

from catalog.models import Category, Item
from common.parsing import ascii_int

ITEM_ORDERINGS = {
    "newest": ("-created_at", "-id"),
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "title": ("title", "id"),
}

RELEVANCE_ORDERING = ("-relevance", "-created_at", "-id")  # ``ordering="relevance"``: only with a text query


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
    if (pk := ascii_int(str(slug_or_id))) is not None:
        lookup |= Q(pk=pk)
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
        queryset = _text_search(queryset, query)
    if in_stock is not None:
        queryset = queryset.filter(in_stock=in_stock)
    if min_price is not None:
        queryset = queryset.filter(price__gte=min_price)
    if max_price is not None:
        queryset = queryset.filter(price__lte=max_price)
    if ordering == "relevance" and query:
        return queryset.order_by(*RELEVANCE_ORDERING)
    return queryset.order_by(*ITEM_ORDERINGS.get(ordering, ITEM_ORDERINGS["newest"]))


SEARCH_MAX_TERMS = 8


def _text_search(queryset: QuerySet[Item], query: str) -> QuerySet[Item]:
    """Filter by a text query and annotate ``relevance``.

    PostgreSQL: full-text search (English stemming, title weighted above description, ``websearch`` syntax:
    quotes, ``or``, ``-word``) ranked by ``ts_rank``; an exact SKU also matches. Elsewhere (SQLite): every word
    must appear in the title, description or SKU (case-insensitive), and title matches rank first.
    """
    terms = query.split()[:SEARCH_MAX_TERMS]
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        vector = SearchVector("title", weight="A", config="english") + SearchVector("description", weight="B", config="english")
        search_query = SearchQuery(" ".join(terms), search_type="websearch", config="english")
        # English stemming finds "shoe" for "shoes" but drops stop words ("can", "it"); a second, unstemmed
        # rank puts the items holding the words exactly as typed first.
        literal_vector = SearchVector("title", weight="A", config="simple") + SearchVector("description", weight="B", config="simple")
        literal_query = SearchQuery(" ".join(terms), search_type="websearch", config="simple")
        return queryset.annotate(search=vector).filter(Q(search=search_query) | Q(sku__iexact=query.strip())).annotate(
            relevance=SearchRank(F("search"), search_query)
            + SearchRank(literal_vector, literal_query)
            + Case(When(sku__iexact=query.strip(), then=Value(1.0)), default=Value(0.0))
        )
    for term in terms:
        queryset = queryset.filter(Q(title__icontains=term) | Q(description__icontains=term) | Q(sku__iexact=term))
    title_hits = [When(title__icontains=term, then=Value(1.0)) for term in terms]
    relevance = sum((Case(hit, default=Value(0.0), output_field=FloatField()) for hit in title_hits), Value(0.0))
    return queryset.annotate(relevance=relevance)


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


def category_children_map() -> dict[int, list[int]]:
    """Child category ids per parent id (one query)."""
    children: dict[int, list[int]] = {}
    for pk, parent_id in Category.objects.filter(parent__isnull=False).values_list("pk", "parent_id").order_by("name", "pk"):
        children.setdefault(parent_id, []).append(pk)
    return children


def category_tree() -> list[tuple[Category, int]]:
    """Every category with its depth, in tree order (each parent followed by its children, A to Z; one query)."""
    categories = list(Category.objects.order_by("name", "pk"))
    by_parent: dict[int | None, list[Category]] = {}
    for category in categories:
        by_parent.setdefault(category.parent_id, []).append(category)
    known = {category.pk for category in categories}
    roots = [c for c in categories if c.parent_id is None or c.parent_id not in known]
    ordered: list[tuple[Category, int]] = []
    seen: set[int] = set()
    stack = [(category, 0) for category in reversed(roots)]
    while stack:
        category, depth = stack.pop()
        if category.pk in seen:
            continue
        seen.add(category.pk)
        ordered.append((category, depth))
        stack.extend((child, depth + 1) for child in reversed(by_parent.get(category.pk, [])))
    return ordered
