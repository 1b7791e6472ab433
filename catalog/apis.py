from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import ITEM_ORDERINGS, category_get, category_list, item_get, item_list
from common.api import CappedPageNumberPagination
from common.exceptions import NotFound, ValidationFailed


class ItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    category = serializers.IntegerField(source="category_id", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    attributes = serializers.DictField(read_only=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    image_url = serializers.CharField(read_only=True)
    in_stock = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class ItemListApi(APIView):
    permission_classes = [AllowAny]
    pagination_class = CappedPageNumberPagination  # the schema documents the paged object and its 404

    class FilterSerializer(serializers.Serializer):
        category = serializers.CharField(required=False, help_text="Category slug or id (includes subcategories).")
        q = serializers.CharField(required=False, max_length=200, help_text="Words to find in title or description.")
        in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)
        min_price = serializers.DecimalField(required=False, max_digits=10, decimal_places=2, min_value=0)
        max_price = serializers.DecimalField(required=False, max_digits=10, decimal_places=2, min_value=0)
        ordering = serializers.ChoiceField(choices=list(ITEM_ORDERINGS), required=False, default="newest")
        page = serializers.IntegerField(required=False, min_value=1)
        page_size = serializers.IntegerField(required=False, min_value=1)

    @extend_schema(parameters=[FilterSerializer], responses=ItemOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        category = None
        if data.get("category"):
            category = category_get(slug_or_id=data["category"])
            if category is None:
                raise ValidationFailed(errors={"category": [f"Unknown category {data['category']!r}."]})
        queryset = item_list(
            category=category,
            query=data.get("q", ""),
            in_stock=data.get("in_stock"),
            min_price=data.get("min_price"),
            max_price=data.get("max_price"),
            ordering=data["ordering"],
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(ItemOutputSerializer(page, many=True).data)


class ItemDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=ItemOutputSerializer)
    def get(self, request: Request, item_id: int) -> Response:
        item = item_get(item_id=item_id)
        if item is None:
            raise NotFound("No such item.")
        return Response(ItemOutputSerializer(item).data)


class CategoryListApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(read_only=True)
        name = serializers.CharField(read_only=True)
        slug = serializers.CharField(read_only=True)
        parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)

    class FilterSerializer(serializers.Serializer):
        top_level = serializers.BooleanField(required=False, default=False, help_text="Only categories without a parent.")

    @extend_schema(responses=OutputSerializer(many=True), parameters=[FilterSerializer])
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)  # top_level=null is a 400, not silently "all categories"
        top_level = filters.validated_data["top_level"]
        return Response(self.OutputSerializer(category_list(top_level_only=top_level), many=True).data)
