"""The "My data" history pages: everything the shopper did that shapes their recommendations, with a delete per
event and a history reset. Export and account deletion are account pages (``users.views``)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from recommendations.events import event_list
from recommendations.shop.privacy import user_event_delete, user_history_reset

HISTORY_PAGE_SIZE = 50


@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    """Everything you did that shapes your recommendations, newest first, each deletable."""
    page = Paginator(event_list(user_id=request.user.pk).select_related("item__category"), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "users/my_data.html", {"page": page})


@login_required
@require_POST
def my_data_event_delete(request: HttpRequest, event_id: int) -> HttpResponse:
    if user_event_delete(user=request.user, event_id=event_id):
        messages.success(request, "Deleted. It no longer shapes your recommendations.")
    else:
        messages.error(request, "That event does not exist (it may already be deleted).")
    page = request.POST.get("page", "")
    return redirect(reverse("my-data") + (f"?page={page}" if page.isdigit() else ""))


@login_required
def history_reset(request: HttpRequest) -> HttpResponse:
    """Confirm, then forget the whole interaction history (preferences are kept)."""
    if request.method == "POST":
        deleted = user_history_reset(user=request.user)
        messages.success(request, f"Your history is reset ({deleted} event{'s' if deleted != 1 else ''} deleted). Your feed starts fresh.")
        return redirect("preferences")
    count = event_list(user_id=request.user.pk).count()
    return render(request, "users/history_reset.html", {"count": count})
