"""Small JSON endpoints (the legacy views, trimmed to what matters here)."""
from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from orders import tasks

from .models import Order
from .tasks import charge_order, send_receipt


def order_paid_webhook(request, order_id):
    order = get_object_or_404(Order, pk=order_id)
    order.status = Order.Status.PAID
    order.payment_ref = request.POST.get("charge", "")
    order.save(update_fields=["status", "payment_ref"])
    # antipattern: model-arg-call (module import: tasks.send_receipt.delay)
    tasks.send_receipt.delay(order)
    return JsonResponse({"order": order.pk, "status": order.status})


def resend_receipt_view(request, order_id):
    order = get_object_or_404(Order, pk=order_id, customer=request.user)
    # antipattern: model-arg-call (keyword argument .delay(order=order))
    send_receipt.delay(order=order)
    return JsonResponse({"order": order.pk, "queued": True})


def retry_payment_view(request, order_id):
    order = get_object_or_404(Order, pk=order_id, customer=request.user)
    # antipattern: model-arg-call (apply_async args list)
    result = charge_order.apply_async(args=[order])
    return JsonResponse({"order": order.pk, "charge": result.get()})
