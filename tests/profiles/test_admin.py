"""Staff read customers' profiles in the admin, with who said yes to news; customers alone change them."""

from portal_auth.models import Customer
from profiles.models import Profile


def test_staff_see_profiles_and_who_wants_news(admin_client, customer, other_customer):
    Profile.objects.create(customer=customer, phone="+351 21 123 4567", city="Lisboa", country="Portugal")
    Profile.objects.create(customer=other_customer, city="Porto")
    Customer.objects.filter(pk=customer.pk).update(email_choices={"news": True})

    response = admin_client.get("/admin/profiles/profile/", {"q": "Lisboa"})

    html = response.content.decode()
    assert response.status_code == 200
    assert customer.email in html and other_customer.email not in html
    assert 'alt="True"' in html  # news and offers: yes
    assert "/admin/profiles/profile/add/" not in html


def test_staff_read_a_customers_email_choices_but_do_not_make_them(admin_client, customer):
    Customer.objects.filter(pk=customer.pk).update(email_choices={"ticket_replies": False})
    html = admin_client.get(f"/admin/portal_auth/customer/{customer.pk}/change/").content.decode()
    assert "ticket_replies" in html
    assert 'name="email_choices"' not in html
