from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ShippingQuote:
    destination: str
    weight_grams: int
    express: bool = False

    @property
    def base_rate(self):
        return Decimal("4.90") if self.destination == "DE" else Decimal("9.90")
