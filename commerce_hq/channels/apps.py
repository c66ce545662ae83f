from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "commerce_hq.channels"
    label = "channels"
    verbose_name = "Channels and devices"
