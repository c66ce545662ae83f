from django.urls import path

from . import views

urlpatterns = [
    path("offline-transactions", views.OfflineTransactionUploadView.as_view(), name="pos-offline-transactions"),
    path(
        "offline-transactions/<path:transaction_id>",
        views.OfflineTransactionStatusView.as_view(),
        name="pos-offline-transaction",
    ),
]
