"""The portal's URLs and those of the test-only loyalty app: the one include a new domain app adds."""

from django.urls import include, path

from portal_project.urls import handler500
from portal_project.urls import urlpatterns as portal_urlpatterns

__all__ = ["handler500", "urlpatterns"]

urlpatterns = [*portal_urlpatterns, path("<slug:org>/loyalty/", include("tests.loyalty_app.urls"))]
