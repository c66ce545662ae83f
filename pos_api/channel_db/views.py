"""Offline transactions: the register uploads what it concluded offline, then asks how it went."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response

from commerce_hq.distribution.models import Job, JobRun
from commerce_hq.distribution.services import job_queue

from ..fields import rfc3339
from ..idempotency import idempotent
from ..schema import IDEMPOTENCY_KEY, problems
from ..views.base import PosAPIView
from .selectors import offline_transaction_get
from .serializers import OfflineTransactionStatusSerializer, UploadResultSerializer, UploadSerializer
from .services import offline_transactions_stage

TAG = ["offline transactions"]


class OfflineTransactionUploadView(PosAPIView):
    """Store a batch (1–1000) of transactions concluded offline; P-0001 applies them. The whole
    batch is validated first: any malformed transaction → 400 invalid_upload, nothing stored."""

    validation_code = "invalid_upload"
    InputSerializer = UploadSerializer
    OutputSerializer = UploadResultSerializer

    @extend_schema(
        operation_id="offline_transactions_upload",
        tags=TAG,
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: OutputSerializer, **problems("invalid_upload")},
    )
    @idempotent
    def post(self, request):
        data = self.validated(self.InputSerializer)
        result = offline_transactions_stage(device=request.user, transactions=data["transactions"])
        if result.accepted or result.conflicts:
            job_queue(job=Job.UPLOAD_TRANSACTIONS, trigger=JobRun.Trigger.UPLOAD)
        return Response(self.OutputSerializer(asdict(result)).data, status=status.HTTP_202_ACCEPTED)


class OfflineTransactionStatusView(PosAPIView):
    """How this register's upload went: pending, applied, or applied with exceptions."""

    OutputSerializer = OfflineTransactionStatusSerializer

    @extend_schema(
        operation_id="offline_transaction_status",
        tags=TAG,
        responses={200: OutputSerializer, **problems("not_found", post=False)},
    )
    def get(self, request, transaction_id: str):
        row = offline_transaction_get(register_id=self.register.pk, transaction_id=transaction_id)
        if row is None:
            raise exceptions.NotFound("This register uploaded no offline transaction with that id.")
        body = {
            "transaction_id": row.transaction_id,
            "status": row.status,
            "received_at": rfc3339(row.received_at),
            "applied_at": rfc3339(row.applied_at),
            "exceptions": [{"code": e.code, "detail": e.detail} for e in row.sync_exceptions.order_by("id")],
            "conflicts": row.conflicts.count(),
        }
        return Response(self.OutputSerializer(body).data)
