def test_sign_in_page_renders(client, organisation):
    response = client.get(f"/{organisation.slug}/sign-in/")
    assert response.status_code == 200
    assert b"Sign in to" in response.content


def test_signed_in_home(sign_in, customer):
    client = sign_in(customer)
    response = client.get(f"/{customer.organisation.slug}/")
    assert response.status_code == 200
    assert customer.email in response.content.decode()
