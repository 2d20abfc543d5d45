from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import AUTHENTICATED, error_responses

from . import selectors
from .models import CommissionStatus


class CommissionSerializer(serializers.Serializer):
    amount_paise = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CommissionStatus.choices)
    created_at = serializers.DateTimeField()


class AffiliateSerializer(serializers.Serializer):
    """The caller's own affiliate figures; no referred customer's identity or orders."""

    code = serializers.CharField()
    link = serializers.URLField()
    referrals = serializers.IntegerField()
    pending_paise = serializers.IntegerField()
    approved_paise = serializers.IntegerField()
    paid_paise = serializers.IntegerField()
    commissions = CommissionSerializer(many=True)


class AffiliateView(APIView):
    @extend_schema(responses={200: AffiliateSerializer, **error_responses(*AUTHENTICATED)})
    def get(self, request):
        summary = selectors.affiliate_summary(request.user)
        return Response(
            AffiliateSerializer(
                {
                    "code": summary.code,
                    "link": summary.link,
                    "referrals": summary.referrals,
                    "pending_paise": summary.totals["pending"],
                    "approved_paise": summary.totals["approved"],
                    "paid_paise": summary.totals["paid"],
                    "commissions": summary.commissions,
                }
            ).data
        )
