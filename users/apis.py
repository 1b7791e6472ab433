from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Category, Item
from common.api import JsonBooleanField
from common.parsing import ascii_int
from users.selectors import preferences_get
from users.services import preferences_update

MAX_HIDDEN_ITEMS = 5000


class PreferencesOutputSerializer(serializers.Serializer):
    excluded_categories = serializers.ListField(child=serializers.IntegerField(), source="excluded_category_ids", read_only=True)
    category_weights = serializers.DictField(child=serializers.FloatField(), read_only=True)
    diversity_level = serializers.FloatField(read_only=True)
    exploration_level = serializers.FloatField(read_only=True)
    personalization_enabled = serializers.BooleanField(read_only=True)
    hidden_items = serializers.ListField(child=serializers.IntegerField(), source="hidden_item_ids", read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class MePreferencesApi(APIView):
    """Read or change how your recommendations are made. PUT accepts any subset of the fields."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        # ListField, not many=True: a JSON object is refused, not read as its keys (#13: found by the fuzzer).
        excluded_categories = serializers.ListField(child=serializers.PrimaryKeyRelatedField(queryset=Category.objects.all()), required=False)
        category_weights = serializers.DictField(child=serializers.FloatField(min_value=0.0, max_value=2.0), required=False)
        diversity_level = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
        exploration_level = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
        personalization_enabled = JsonBooleanField(required=False)
        hidden_items = serializers.ListField(child=serializers.PrimaryKeyRelatedField(queryset=Item.objects.all()), required=False)

        def validate_category_weights(self, value: dict) -> dict:
            keys = [key for key in value if ascii_int(str(key)) is None]
            if keys:
                raise serializers.ValidationError(f"Keys must be category ids; got {keys[:5]}.")
            known = set(Category.objects.filter(pk__in=[int(key) for key in value]).values_list("pk", flat=True))
            unknown = [key for key in value if int(key) not in known]
            if unknown:
                raise serializers.ValidationError(f"Unknown categories: {unknown[:10]}.")
            return {str(int(key)): weight for key, weight in value.items()}

        def validate_hidden_items(self, value: list) -> list:
            if len(value) > MAX_HIDDEN_ITEMS:
                raise serializers.ValidationError(f"At most {MAX_HIDDEN_ITEMS} hidden items.")
            return value

    @extend_schema(responses=PreferencesOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(PreferencesOutputSerializer(preferences_get(user=request.user)).data)

    @extend_schema(request=InputSerializer, responses=PreferencesOutputSerializer)
    def put(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        preferences = preferences_update(user=request.user, data=serializer.validated_data)
        return Response(PreferencesOutputSerializer(preferences).data)

    patch = put
