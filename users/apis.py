from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Category, Item
from common.api import JsonBooleanField, JsonFloatField
from common.fields import CappedDictField, IdListField
from common.parsing import ascii_int
from common.throttling import LoginRateThrottle
from users.selectors import auth_token_list, preferences_get
from users.services import auth_token_obtain, auth_token_revoke, preferences_update


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
            child=JsonFloatField(min_value=0.0, max_value=2.0), required=False,
            help_text='{"<category id>": weight 0-2} (1 is neutral), at most API_MAX_LIST_ITEMS keys.',
        )
        diversity_level = JsonFloatField(min_value=0.0, max_value=1.0, required=False)
        exploration_level = JsonFloatField(min_value=0.0, max_value=1.0, required=False)
        personalization_enabled = JsonBooleanField(required=False)  # true/false only (found by the fuzzer)
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
    """Exchange a username and password for a new API token, sent as ``Authorization: Token <token>``.

    Every call creates another token (one per device or script; name it): the token is in this answer only, the
    server keeps its SHA-512 digest. It expires at ``expiry``; list and revoke yours at /api/v1/me/tokens/. A
    password change revokes them all.

    Throttled per client address (the ``login`` scope, shared with the site's login page); after repeated
    failures the account, and separately the client address, is locked out for a while: 429 ``locked_out``
    with ``Retry-After``, whatever the password (django-axes, ``users.lockout``).
    """

    authentication_classes: list = []  # the credentials are in the body; a stale token header must not get in the way
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150, trim_whitespace=False)
        password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
        name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        token = serializers.CharField(help_text="The token itself: shown in this answer only.")
        created = serializers.DateTimeField()
        expiry = serializers.DateTimeField()

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            409: OpenApiResponse(description="The user holds VITRINE_TOKEN_LIMIT_PER_USER live tokens (token_limit)."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        auth_token, token = auth_token_obtain(request=request._request, **serializer.validated_data)
        data = {"id": auth_token.pk, "name": auth_token.name, "token": token, "created": auth_token.created, "expiry": auth_token.expiry}
        return Response(self.OutputSerializer(data).data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class AuthTokenOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField()
    current = serializers.BooleanField(help_text="The token this request was authenticated with.")


class MeTokenListApi(APIView):
    """Your live API tokens, newest first (never the tokens themselves)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=AuthTokenOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        current = getattr(request.auth, "pk", None)
        tokens = [
            {"id": t.pk, "name": t.name, "created": t.created, "expiry": t.expiry, "current": t.pk == current}
            for t in auth_token_list(user=request.user)
        ]
        return Response(AuthTokenOutputSerializer(tokens, many=True).data)


class MeTokenDeleteApi(APIView):
    """Revoke one of your API tokens: it is refused from the next request on (this one, if it is the current)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, token_id: int) -> Response:
        auth_token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
