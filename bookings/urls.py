import datetime

from django.urls import path, register_converter

from bookings import views
from bookings.availability import plausible_day


class DayConverter:
    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> datetime.date:
        return plausible_day(value)  # a ValueError is a 404

    def to_url(self, value: datetime.date) -> str:
        return value.isoformat()


class ClockConverter:
    """A local time of day as HHMM."""

    regex = r"\d{4}"

    def to_python(self, value: str) -> datetime.time:
        return datetime.time(int(value[:2]), int(value[2:]))

    def to_url(self, value: datetime.time) -> str:
        return f"{value:%H%M}"


register_converter(DayConverter, "day")
register_converter(ClockConverter, "clock")

app_name = "bookings"

urlpatterns = [
    path("", views.booking_list, name="list"),
    path("book/", views.book_services, name="book"),
    path("book/check/", views.book_check, name="book_check"),
    path("book/<int:service_id>/", views.book_days, name="book_days"),
    path("book/<int:service_id>/<day:day>/", views.book_times, name="book_times"),
    path("book/<int:service_id>/<day:day>/<clock:time>/", views.book_details, name="book_details"),
    path("<str:reference>/", views.booking_detail, name="detail"),
    path("<str:reference>/cancel/", views.booking_cancel, name="cancel"),
    path("<str:reference>/reschedule/", views.booking_reschedule_days, name="reschedule_days"),
    path("<str:reference>/reschedule/<day:day>/", views.booking_reschedule_times, name="reschedule_times"),
    path("<str:reference>/reschedule/<day:day>/<clock:time>/", views.booking_reschedule, name="reschedule"),
    path("<str:reference>/add-ons/<int:add_on_id>/book/", views.add_on_book, name="add_on_book"),
    path("<str:reference>/add-ons/<int:add_on_id>/cancel/", views.add_on_cancel, name="add_on_cancel"),
    path("<str:reference>/documents/", views.document_upload, name="document_upload"),
    path("<str:reference>/documents/<int:pk>/", views.document_download, name="document_download"),
]
