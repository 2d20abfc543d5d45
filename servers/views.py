from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from . import selectors


@login_required
def server_list(request):
    page = Paginator(selectors.servers_for_user(request.user), 25).get_page(request.GET.get("page"))
    return render(request, "servers/list.html", {"page": page})
