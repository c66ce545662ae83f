from django.apps import AppConfig


class ParametersConfig(AppConfig):
    name = "commerce_hq.parameters"
    label = "parameters"
    verbose_name = "Commerce parameters"
