from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from orders.models import Product


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def products(db):
    return {
        "MUG": Product.objects.create(sku="MUG", name="Mug", price=Decimal("12.50"), stock=10),
        "TEE": Product.objects.create(sku="TEE", name="T-shirt", price=Decimal("20.00"), stock=5),
    }


@pytest.fixture
def customer(db):
    return get_user_model().objects.create_user(
        username="alice", email="alice@example.com", password="pw"
    )


@pytest.fixture
def other_customer(db):
    return get_user_model().objects.create_user(
        username="bob", email="bob@example.com", password="pw"
    )


@pytest.fixture
def order(customer, products, django_capture_on_commit_callbacks):
    from orders.services import place_order

    with django_capture_on_commit_callbacks(execute=True):
        placed = place_order(customer, [("MUG", 2), ("TEE", 1)])
    placed.refresh_from_db()
    return placed
