"""GET/POST /api/v1/ssh-keys/, DELETE /api/v1/ssh-keys/<id>/, and `ssh_keys` on POST /api/v1/orders/."""

import pytest

from sshkeys.models import OrderSSHKey, SSHKey

pytestmark = pytest.mark.django_db


def test_a_customer_adds_lists_and_deletes_a_key(api, keys):
    response = api.post("/api/v1/ssh-keys/", {"name": "laptop", "public_key": keys["ed25519"]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "laptop" and body["fingerprint"].startswith("SHA256:")
    assert {"id", "name", "fingerprint"} <= set(body) and "public_key" not in body
    listed = api.get("/api/v1/ssh-keys/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]
    assert api.delete(f"/api/v1/ssh-keys/{body['id']}/").status_code == 204
    assert not SSHKey.objects.exists()


def test_the_name_defaults_to_the_keys_comment(api, keys):
    response = api.post("/api/v1/ssh-keys/", {"public_key": keys["ecdsa"]}, format="json")
    assert response.status_code == 201 and response.json()["name"] == "alice@laptop"


@pytest.mark.parametrize(("kind", "message"), [
    ("dsa", "DSA"), ("rsa1024", "1024 bits"), ("garbage", "not a key type"), ("ed25519_private", "private key"),
])  # fmt: skip
def test_a_bad_key_is_a_400_naming_the_problem_and_stores_nothing(api, keys, kind, message):
    text = keys.get(kind, "garbage garbage garbage")
    response = api.post("/api/v1/ssh-keys/", {"name": "bad", "public_key": text}, format="json")
    assert response.status_code == 400
    assert message in response.json()["public_key"][0]
    assert not SSHKey.objects.exists()


def test_the_same_key_twice_is_a_400(api, keys):
    api.post("/api/v1/ssh-keys/", {"name": "laptop", "public_key": keys["ed25519"]}, format="json")
    response = api.post("/api/v1/ssh-keys/", {"name": "again", "public_key": keys["ed25519"]}, format="json")
    assert response.status_code == 400 and "already have this key as “laptop”" in response.json()["public_key"][0]


def test_another_customers_keys_are_invisible_and_cannot_be_deleted(api, bob_api, keys):
    key_id = api.post("/api/v1/ssh-keys/", {"name": "laptop", "public_key": keys["ed25519"]}, format="json").json()[
        "id"
    ]
    assert bob_api.get("/api/v1/ssh-keys/").json()["count"] == 0
    assert bob_api.delete(f"/api/v1/ssh-keys/{key_id}/").status_code == 404
    assert SSHKey.objects.filter(pk=key_id).exists()


def test_an_order_takes_the_callers_keys_and_copies_them(api, plan, fake_razorpay, keys):
    key_id = api.post("/api/v1/ssh-keys/", {"name": "laptop", "public_key": keys["ed25519"]}, format="json").json()[
        "id"
    ]
    response = api.post("/api/v1/orders/", {"plan": plan.slug, "ssh_keys": [key_id]}, format="json")
    assert response.status_code == 201, response.content
    [copy] = OrderSSHKey.objects.filter(order__number=response.json()["number"])
    assert (copy.name, copy.public_key) == ("laptop", keys["ed25519"])
    # The copy outlives the key: the server gets what was chosen even if the key is deleted meanwhile.
    api.delete(f"/api/v1/ssh-keys/{key_id}/")
    copy.refresh_from_db()
    assert copy.public_key == keys["ed25519"] and copy.key is None


def test_an_order_with_another_customers_key_is_a_400_and_creates_nothing(api, bob_api, plan, fake_razorpay, keys):
    from billing.models import Order

    bobs = bob_api.post("/api/v1/ssh-keys/", {"name": "bob", "public_key": keys["ecdsa"]}, format="json").json()["id"]
    for ssh_keys in ([bobs], [999999], ["x"]):
        response = api.post("/api/v1/orders/", {"plan": plan.slug, "ssh_keys": ssh_keys}, format="json")
        assert response.status_code == 400, ssh_keys
        assert "ssh_keys" in response.json()
    assert not Order.objects.exists() and not fake_razorpay.orders
