from django.apps import AppConfig


class StoredValueConfig(AppConfig):
    name = "commerce_hq.stored_value"
    label = "stored_value"
    verbose_name = "Gift cards and credit memos"
