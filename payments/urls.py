from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("plans/", views.plans, name="plans"),
    path("checkout/<slug:slug>/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="orders"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path("orders/<str:number>/pay/", views.order_pay, name="order-pay"),
    path("orders/<str:number>/simulated-payment/", views.simulated_payment, name="order-simulated-payment"),
    path("orders/<str:number>/invoice/", views.invoice, name="invoice"),
    path("orders/<str:number>/invoice.pdf", views.invoice_download, name="invoice-pdf"),
    path("orders/<str:number>/credit-notes/<int:note_id>/", views.credit_note, name="credit-note"),
    path("orders/<str:number>/credit-notes/<int:note_id>.pdf", views.credit_note_download, name="credit-note-pdf"),
]
