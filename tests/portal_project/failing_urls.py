"""The portal's urls and one view that fails, to see the 500 page as a visitor does."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from portal_project.urls import handler500
from portal_project.urls import urlpatterns as portal_urlpatterns

__all__ = ["handler500", "urlpatterns"]


def _fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a failure the visitor must not see")


urlpatterns = [path("fail", _fail), *portal_urlpatterns]
