from django.shortcuts import render

from portal_auth.decorators import customer_required


@customer_required
def booking_list(request, organisation, customer):
    return render(request, "bookings/booking_list.html", {"bookings": []})
