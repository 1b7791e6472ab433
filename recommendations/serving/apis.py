from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Category, Item
from catalog.selectors import item_get
from common.exceptions import NotFound, ValidationFailed
from recommendations.events import actor_from_request
from recommendations.serving import (
    CursorError,
    FeedbackError,
    RecommendedItem,
    RequestContext,
    feed_recommendations_get,
    feed_transient_actor,
    feedback_not_interested,
    request_context_parse,
    similar_items_get,
)
from recommendations.serving.explanations import EXPLANATION_TYPES
from recommendations.serving.pipeline import MAX_N


class RecommendationCategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ExplanationSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=list(EXPLANATION_TYPES), help_text="Machine-readable reason.")
    text = serializers.CharField(help_text="The reason as a sentence for people.")
    item = serializers.IntegerField(allow_null=True, help_text="The item the reason cites (because_you_interacted, new_arrival, similar_*).")
    item_title = serializers.CharField(allow_null=True)
    category = serializers.IntegerField(allow_null=True, help_text="The category the reason cites (trending_in_category, exploring_category, new_arrival).")
    category_name = serializers.CharField(allow_null=True)


class RecommendedItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=True)
    category = RecommendationCategorySerializer()
    image_url = serializers.CharField(allow_blank=True)
    url = serializers.CharField(help_text="The item's page on the site.")
    position = serializers.IntegerField(help_text="0-based position in this response.")
    score = serializers.FloatField(help_text="Ranking score (comparable within one response).")
    source = serializers.CharField(help_text="Candidate source that produced the item (ann, foldin, neighbours, trending, popular, new_arrival, explore, catalog; similar_item / similar_content for similar items).")
    explanation = ExplanationSerializer()


def _recommended_item_payload(entry: RecommendedItem) -> dict:
    item = entry.item
    return {
        "id": item.pk,
        "title": item.title,
        "price": f"{item.price:.2f}",
        "category": {"id": item.category_id, "name": item.category.name},
        "image_url": item.image_url,
        "url": f"/items/{item.pk}/",
        "position": entry.position,
        "score": entry.score,
        "source": entry.source,
        "explanation": entry.explanation,
    }


def _server_timing(timings: dict[str, float]) -> str:
    return ", ".join(f"{name};dur={seconds * 1000:.2f}" for name, seconds in timings.items() if name != "candidates_cached")


class RecommendationListApi(APIView):
    """Your personal feed, one page at a time (signed-in users, or anonymous visitors through their session).

    Pass the response's ``next_cursor`` as ``cursor`` to get the next page of the same feed session: later
    pages never repeat an item. Every item carries the reason it was recommended.
    """

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        n = serializers.IntegerField(min_value=1, max_value=MAX_N, default=20, help_text=f"Items per page (1-{MAX_N}).")
        cursor = serializers.CharField(required=False, max_length=1000, help_text="next_cursor of the previous page.")
        context = serializers.CharField(required=False, max_length=100, help_text="Optional, e.g. device:mobile,hour:21")

        def validate_context(self, value: str) -> RequestContext:
            try:
                return request_context_parse(value)
            except ValueError as error:
                raise serializers.ValidationError(str(error)) from None

    @extend_schema_serializer(component_name="RecommendationPage")
    class OutputSerializer(serializers.Serializer):
        request_id = serializers.UUIDField(help_text="Send it back with feedback and events to attribute them.")
        model_version = serializers.IntegerField(allow_null=True, help_text="Model version used; null when degraded.")
        settings_version = serializers.IntegerField()
        ranker = serializers.ChoiceField(choices=["fusion", "learned"])
        degraded = serializers.BooleanField(help_text="True when no model is available (popularity-based results).")
        next_cursor = serializers.CharField(allow_null=True)
        items = RecommendedItemSerializer(many=True)

    @extend_schema(
        parameters=[InputSerializer],
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        # A client without a session cookie gets no session row for a read (fault 8): its cursor carries it.
        actor = actor_from_request(request, create=False) or feed_transient_actor(cursor=data.get("cursor"))
        try:
            page = feed_recommendations_get(
                actor=actor, n=data["n"], cursor=data.get("cursor"), context=data.get("context"), session=request.session,
            )
        except CursorError as error:
            raise ValidationFailed(str(error), errors={"cursor": [str(error)]}) from None
        response = Response(
            {
                "request_id": page.request_id,
                "model_version": page.model_version,
                "settings_version": page.settings_version,
                "ranker": page.ranker,
                "degraded": page.degraded,
                "next_cursor": page.next_cursor,
                "items": [_recommended_item_payload(entry) for entry in page.items],
            }
        )
        response["Server-Timing"] = _server_timing(page.timings)
        return response


class ItemSimilarApi(APIView):
    """Available items similar to one item (the model's neighbours, or content similarity), minus what you hid.

    An inactive or deleted item answers 404, as its page does; an out-of-stock one has a page, so it has similar items.
    """

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        n = serializers.IntegerField(min_value=1, max_value=MAX_N, default=10)

    @extend_schema_serializer(component_name="SimilarItemsPage")
    class OutputSerializer(serializers.Serializer):
        request_id = serializers.UUIDField()
        item = serializers.IntegerField(help_text="The item the others are similar to.")
        model_version = serializers.IntegerField(allow_null=True)
        degraded = serializers.BooleanField()
        items = RecommendedItemSerializer(many=True)

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request: Request, item_id: int) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        item = item_get(item_id=item_id)  # the item page's rule: an inactive or deleted item is not found
        if item is None:
            raise NotFound("No such item.")
        actor = actor_from_request(request, create=False)
        page = similar_items_get(item=item, actor=actor, n=params.validated_data["n"], session=request.session)
        return Response(
            {
                "request_id": page.request_id,
                "item": item.pk,
                "model_version": page.model_version,
                "degraded": page.degraded,
                "items": [_recommended_item_payload(entry) for entry in page.items],
            }
        )


class FeedbackCreateApi(APIView):
    """"Not interested": hide an item (``scope=item``) or exclude a whole category (``scope=category``).

    Give ``item`` (its category is used for ``scope=category``) or ``category``. Records a skip event for the
    item; your next recommendations leave it out. Anonymous visitors' choices are kept in their session.
    """

    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="Feedback")
    class InputSerializer(serializers.Serializer):
        item = serializers.PrimaryKeyRelatedField(queryset=Item.objects.select_related("category"), required=False)
        category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), required=False)
        scope = serializers.ChoiceField(choices=["item", "category"], default="item")
        request_id = serializers.CharField(required=False, max_length=64, help_text="request_id of the response that showed the item.")

        def validate(self, attrs: dict) -> dict:
            if not attrs.get("item") and not attrs.get("category"):
                raise serializers.ValidationError("Give an item, a category, or both.")
            if attrs.get("scope") == "item" and not attrs.get("item"):
                attrs["scope"] = "category"
            return attrs

    @extend_schema_serializer(component_name="FeedbackResult")
    class OutputSerializer(serializers.Serializer):
        hidden_items = serializers.ListField(child=serializers.IntegerField())
        excluded_categories = serializers.ListField(child=serializers.IntegerField())
        event_recorded = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            result = feedback_not_interested(
                actor=actor_from_request(request), item=data.get("item"), category=data.get("category"), scope=data["scope"],
                request_id=data.get("request_id", ""), session=request.session,
            )
        except FeedbackError as error:
            raise ValidationFailed(str(error)) from None
        return Response(self.OutputSerializer(result).data, status=status.HTTP_201_CREATED)

