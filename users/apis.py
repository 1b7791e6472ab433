from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Category, Item
from common.fields import CappedDictField, IdListField
from common.parsing import ascii_int
from common.throttling import LoginRateThrottle
from users.selectors import preferences_get
from users.services import auth_token_get, preferences_update


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
        # Lists and maps are capped before their items are read, and ids are checked with one query (common.fields).
        excluded_categories = IdListField(
            queryset=Category.objects.all(), required=False, help_text="Category ids, at most API_MAX_LIST_ITEMS."
        )
        category_weights = CappedDictField(
            child=serializers.FloatField(min_value=0.0, max_value=2.0), required=False,
            help_text='{"<category id>": weight 0-2} (1 is neutral), at most API_MAX_LIST_ITEMS keys.',
        )
        diversity_level = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
        exploration_level = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
        personalization_enabled = serializers.BooleanField(required=False)
        hidden_items = IdListField(
            queryset=Item.objects.all(), cap_setting="PREFERENCES_MAX_HIDDEN_ITEMS", required=False,
            help_text="Item ids, at most PREFERENCES_MAX_HIDDEN_ITEMS.",
        )

        def validate_category_weights(self, value: dict) -> dict:
            keys = [key for key in value if ascii_int(str(key)) is None]
            if keys:
                raise serializers.ValidationError(f"Keys must be category ids; got {keys[:5]}.")
            known = set(Category.objects.filter(pk__in=[int(key) for key in value]).values_list("pk", flat=True))
            unknown = [key for key in value if int(key) not in known]
            if unknown:
                raise serializers.ValidationError(f"Unknown categories: {unknown[:10]}.")
            return {str(int(key)): weight for key, weight in value.items()}

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


class AuthTokenCreateApi(APIView):
    """Exchange a username and password for the account's API token (``Authorization: Token <token>``).

    Throttled per client address (the ``login`` scope, shared with the site's login page); after repeated
    failures the account, and separately the client address, is locked out for a while: 429 ``locked_out``
    with ``Retry-After``, whatever the password (django-axes, ``users.lockout``).
    """

    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(read_only=True)

    @extend_schema(request=AuthTokenSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        # Django's request, not DRF's: axes marks the request it is given, and its middleware answers a lockout.
        serializer = AuthTokenSerializer(data=request.data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)
        token = auth_token_get(user=serializer.validated_data["user"])
        return Response(self.OutputSerializer({"token": token.key}).data)
