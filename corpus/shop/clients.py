"""Thin clients for the outside services the shop talks to.

In production these wrap HTTP APIs.  Here they are deterministic stand-ins
so that the code paths around them can run anywhere; the exceptions mirror
the ones the real HTTP library raises.
"""
import hashlib
from decimal import Decimal


class GatewayConnectionError(ConnectionError):
    """The payment gateway could not be reached (like requests' ConnectionError)."""


class PaymentDeclined(ValueError):
    """The gateway refused the charge; retrying will not help."""


class WarehouseError(Exception):
    pass


class CrmUnavailable(Exception):
    pass


def _token(prefix, *parts):
    digest = hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()
    return f"{prefix}_{digest[:12]}"


class PaymentGateway:
    def charge(self, reference, amount):
        amount = Decimal(amount)
        if amount <= 0:
            raise PaymentDeclined(f"cannot charge {amount} for {reference}")
        return _token("ch", reference, amount)

    def refund(self, charge_id, amount):
        if not charge_id:
            raise PaymentDeclined("nothing to refund")
        return _token("re", charge_id, amount)


class WarehouseClient:
    def push(self, reference, lines):
        if not lines:
            raise WarehouseError(f"order {reference} has no lines")
        return _token("wh", reference, len(lines))

    def create_label(self, reference):
        return _token("lbl", reference)

    def tracking_number(self, reference):
        return _token("trk", reference).upper()


class CrmClient:
    def upsert_contact(self, email, tier):
        return {"status": "ok", "id": _token("crm", email)}


class PushClient:
    def send(self, device_token, title):
        return _token("push", device_token, title)


gateway = PaymentGateway()
warehouse = WarehouseClient()
crm = CrmClient()
push = PushClient()


class SearchClient:
    def __init__(self):
        self.documents = {}

    def index(self, collection, key, document):
        if not key:
            raise ValueError("documents need a key")
        self.documents[(collection, key)] = dict(document)
        return key


search = SearchClient()
