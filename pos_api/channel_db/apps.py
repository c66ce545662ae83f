from django.apps import AppConfig


class ChannelDbConfig(AppConfig):
    """The channel database: what HQ distributed to each channel, and the registers' staged uploads."""

    name = "pos_api.channel_db"
    label = "channel_db"
    verbose_name = "Channel database"
