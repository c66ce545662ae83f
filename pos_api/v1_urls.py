"""Routes under /api/pos/v1/. The offline-transaction routes live beside the channel database."""

from django.urls import include, path

urlpatterns = [
    path("", include("pos_api.channel_db.urls")),
]
