"""Per-device rate limits. The rate is read from settings on every request, so it can be tuned
(``POS_BALANCE_LOOKUP_RATE``) without touching code."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class BalanceLookupThrottle(SimpleRateThrottle):
    """Balance lookups per device (``balance_lookup`` rate): card numbers are bearer instruments,
    so a register must not be able to probe them at speed."""

    scope = "balance_lookup"

    def get_rate(self) -> str:
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
