from django.urls import path

from accounts import views as account_views
from orders import views as order_views

urlpatterns = [
    path("orders/<int:order_id>/paid/", order_views.order_paid_webhook),
    path("orders/<int:order_id>/receipt/", order_views.resend_receipt_view),
    path("account/export/", account_views.export_my_data),
]
