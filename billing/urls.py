from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("invoices/<int:number>/pdf/", views.invoice_download, name="invoice_pdf"),
    path("receipts/<int:pk>/pdf/", views.receipt_download, name="receipt_pdf"),
    path("tab/", views.tab_detail, name="tab"),
    path("membership/", views.membership_detail, name="membership"),
]
