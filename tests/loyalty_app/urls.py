from django.urls import path

from tests.loyalty_app import views

app_name = "loyalty"

urlpatterns = [path("", views.membership_list, name="list")]
