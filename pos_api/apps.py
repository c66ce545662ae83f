from django.apps import AppConfig


class PosApiConfig(AppConfig):
    name = "pos_api"
    verbose_name = "Channel side (POS API)"
