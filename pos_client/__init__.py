"""Reference POS client: a register that locks cards online, concludes offline when HQ stops
answering (as far as the distributed parameters allow) and uploads what it concluded.

Depends on the standard library and ``requests`` only, so a register can embed it.
"""

from .client import PosClient
from .errors import ApiError, NotActivated, OfflineRefused, PosClientError, Unreachable
from .records import Line
from .sale import Sale, SaleResult
from .store import OfflineStore
from .sync import SyncReport
from .transport import FaultyTransport, HttpTransport, Reply

__all__ = [
    "ApiError",
    "FaultyTransport",
    "HttpTransport",
    "Line",
    "NotActivated",
    "OfflineRefused",
    "OfflineStore",
    "PosClient",
    "PosClientError",
    "Reply",
    "Sale",
    "SaleResult",
    "SyncReport",
    "Unreachable",
]
