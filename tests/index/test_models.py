from __future__ import annotations

import ast
import textwrap

from celery_codemods.index.context import ModuleContext
from celery_codemods.index.models import ModelRegistry, ModuleModelFacts, build_registry, extract_classes
from celery_codemods.index.resolve import ImportResolver


def _facts(module: str, source: str) -> tuple[ModuleModelFacts | None, dict[str, str]]:
    text = textwrap.dedent(source)
    tree = ast.parse(text)
    resolver = ImportResolver(module, is_package=False)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            resolver.add_import(node)
    names = frozenset(n.name for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef))
    ctx = ModuleContext("x.py", module, text, text.splitlines(), resolver, names)
    return extract_classes(tree, ctx), dict(resolver.names)


def registry(**modules: str) -> ModelRegistry:
    per_module: dict[str, ModuleModelFacts] = {}
    imports: dict[str, dict[str, str]] = {}
    for dotted, source in modules.items():
        name = dotted.replace("__", ".")
        facts, imported = _facts(name, source)
        if facts is not None:
            per_module[name] = facts
        imports[name] = imported
    return build_registry(per_module, imports)


SHOP = """\
    import uuid

    from django.contrib.auth.models import AbstractUser
    from django.db import models
    from model_utils.models import TimeStampedModel


    class Base(models.Model):
        created = models.DateTimeField()

        class Meta:
            abstract = True


    class Order(Base):
        total = models.IntegerField()

        def mark_paid(self):
            pass


    class Ticket(models.Model):
        id = models.UUIDField(primary_key=True, default=uuid.uuid4)


    class Coupon(models.Model):
        code = models.CharField(max_length=10, primary_key=True)


    class OrderProxy(Order):
        class Meta:
            proxy = True


    class Profile(models.Model):
        ticket = models.OneToOneField(Ticket, primary_key=True, on_delete=models.CASCADE)


    class Customer(AbstractUser):
        pass


    class Audit(TimeStampedModel):
        pass


    class Helper:
        pass


    class NotAModel(Helper):
        pass
"""


def test_models_reached_through_imports_and_project_bases() -> None:
    found = registry(shop__models=SHOP)
    assert found.concrete("shop.models.Order") is not None
    assert found.model("shop.models.Base") is not None
    assert found.concrete("shop.models.Base") is None
    assert found.model("shop.models.Helper") is None
    assert found.model("shop.models.NotAModel") is None


def test_abstract_user_and_third_party_bases_make_models() -> None:
    found = registry(shop__models=SHOP)
    customer = found.concrete("shop.models.Customer")
    assert customer is not None and customer.pk_type == "int"
    assert found.concrete("shop.models.Audit") is not None


def test_primary_key_types() -> None:
    found = registry(shop__models=SHOP)
    pk = {name: found.models[f"shop.models.{name}"].pk_type for name in ("Order", "Ticket", "Coupon", "Profile")}
    assert pk == {"Order": "int", "Ticket": "uuid.UUID", "Coupon": "str", "Profile": "uuid.UUID"}


def test_proxy_models_are_told_apart_and_inherit_fields() -> None:
    found = registry(shop__models=SHOP)
    proxy = found.concrete("shop.models.OrderProxy")
    assert proxy is not None and proxy.proxy
    assert proxy.has_attribute("total") and proxy.has_attribute("mark_paid") and proxy.has_attribute("created")
    assert not proxy.has_attribute("nonsense")


def test_user_model_from_auth_user_model_setting() -> None:
    found = registry(
        accounts__models="from django.contrib.auth.models import AbstractUser\nclass Member(AbstractUser):\n    pass\n",
        config__settings='AUTH_USER_MODEL = "accounts.Member"\n',
    )
    assert found.user_model == "accounts.models.Member"


def test_user_model_defaults_to_django_user() -> None:
    found = registry(shop__models=SHOP)
    user = found.user()
    assert user is not None and user.qualname == "django.contrib.auth.models.User"


def test_get_user_model_alias_resolves_to_the_user_model() -> None:
    found = registry(
        accounts__models="from django.db import models\nclass Member(models.Model):\n    pass\n",
        config__settings='AUTH_USER_MODEL = "accounts.Member"\n',
        shop__tasks="from django.contrib.auth import get_user_model\nUser = get_user_model()\n",
    )
    member = found.model("shop.tasks.User")
    assert member is not None and member.qualname == "accounts.models.Member"


def test_unknown_auth_user_model_leaves_the_user_model_unknown() -> None:
    found = registry(config__settings='AUTH_USER_MODEL = "elsewhere.Person"\n')
    assert found.user() is None


def test_re_exported_models_resolve_to_their_definition() -> None:
    found = registry(
        shop__models__order="from django.db import models\nclass Order(models.Model):\n    pass\n",
        shop__models="from shop.models.order import Order\n",
    )
    order = found.concrete("shop.models.Order")
    assert order is not None and order.qualname == "shop.models.order.Order"


def test_model_form_meta_model() -> None:
    found = registry(
        shop__models="from django.db import models\nclass Order(models.Model):\n    pass\n",
        shop__forms=(
            "from django import forms\nfrom shop.models import Order\n"
            "class OrderForm(forms.ModelForm):\n    class Meta:\n        model = Order\n"
        ),
    )
    form_model = found.form_model("shop.forms.OrderForm")
    assert form_model is not None and form_model.qualname == "shop.models.Order"
    assert found.model("shop.forms.OrderForm") is None


def test_models_named_like_a_parameter() -> None:
    found = registry(shop__models=SHOP)
    assert [m.qualname for m in found.by_name("order_proxy")] == ["shop.models.OrderProxy"]
    assert found.by_name("base") == []


def test_class_overrides_through_project_bases() -> None:
    found = registry(
        shop__base=(
            "from celery import Task\nclass Loader(Task):\n    def __call__(self, *a):\n        pass\n"
            "class Special(Loader):\n    pass\nclass Plain(Task):\n    def on_failure(self):\n        pass\n"
        )
    )
    assert found.class_overrides("shop.base.Special", ("__call__", "run"))
    assert not found.class_overrides("shop.base.Plain", ("__call__", "run"))
