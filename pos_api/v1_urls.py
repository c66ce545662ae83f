"""Routes under /api/pos/v1/. The offline-transaction routes live beside the channel database;
anything else under the base is a problem+json ``404 not_found``."""

from django.urls import include, path, re_path

from .views import credit_memos, devices, gift_cards
from .views.base import NotFoundView

urlpatterns = [
    path("devices/activate", devices.DeviceActivateView.as_view(), name="pos-device-activate"),
    path("health", devices.HealthView.as_view(), name="pos-health"),
    path("parameters", devices.ParametersView.as_view(), name="pos-parameters"),
    path("gift-cards", gift_cards.GiftCardIssueView.as_view(), name="pos-gift-card-issue"),
    path("gift-cards/<str:number>", gift_cards.GiftCardBalanceView.as_view(), name="pos-gift-card"),
    path("gift-cards/<str:number>/lock", gift_cards.GiftCardLockView.as_view(), name="pos-gift-card-lock"),
    path("gift-cards/<str:number>/unlock", gift_cards.GiftCardUnlockView.as_view(), name="pos-gift-card-unlock"),
    path("gift-cards/<str:number>/redeem", gift_cards.GiftCardRedeemView.as_view(), name="pos-gift-card-redeem"),
    path(
        "gift-cards/<str:number>/add-value", gift_cards.GiftCardAddValueView.as_view(), name="pos-gift-card-add-value"
    ),
    path("gift-cards/<str:number>/cash-out", gift_cards.GiftCardCashOutView.as_view(), name="pos-gift-card-cash-out"),
    path("credit-memos", credit_memos.CreditMemoIssueView.as_view(), name="pos-credit-memo-issue"),
    path("credit-memos/<str:number>", credit_memos.CreditMemoGetView.as_view(), name="pos-credit-memo"),
    path("credit-memos/<str:number>/lock", credit_memos.CreditMemoLockView.as_view(), name="pos-credit-memo-lock"),
    path(
        "credit-memos/<str:number>/unlock", credit_memos.CreditMemoUnlockView.as_view(), name="pos-credit-memo-unlock"
    ),
    path(
        "credit-memos/<str:number>/redeem", credit_memos.CreditMemoRedeemView.as_view(), name="pos-credit-memo-redeem"
    ),
    path("", include("pos_api.channel_db.urls")),
    re_path(r"", NotFoundView.as_view(), name="pos-not-found"),
]
