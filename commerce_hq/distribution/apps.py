from django.apps import AppConfig


class DistributionConfig(AppConfig):
    name = "commerce_hq.distribution"
    label = "distribution"
    verbose_name = "Distribution schedule"
