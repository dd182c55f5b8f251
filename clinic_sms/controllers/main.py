"""Webhooks: delivery reports and patients' replies, one pair of URLs per gateway.

Each URL carries the gateway's secret token; the provider's own signature is checked on top where
the provider signs (GatewayAPI, Twilio). A request with a wrong token, a bad signature or a body
that cannot be read changes nothing and gets a 4xx; a valid report about a message we do not know
is answered 2xx (the provider would otherwise retry it for hours) and ignored.
"""

import logging
import re

from werkzeug.exceptions import NotFound

from odoo import http
from odoo.http import request

from ..core import gateway as gw

_logger = logging.getLogger(__name__)

#: A webhook path in a request line: the token and the query string (SMSAPI reports by GET with
#: the patient's number, Kannel's get-url carries the reply's text) must not reach the access log.
_WEBHOOK_PATH = re.compile(r"(/clinic_sms/(?:dlr|inbound)/\d+/)[^\s?#]*(?:\?[^\s#]*)?")


class HideWebhookSecrets(logging.Filter):
    """Rewrites the access-log line of a webhook request to ``/clinic_sms/dlr/<id>/***``."""

    def filter(self, record):
        args = record.args
        if isinstance(args, tuple) and args and isinstance(args[0], str) and "/clinic_sms/" in args[0]:
            record.args = (_WEBHOOK_PATH.sub(r"\1***", args[0]), *args[1:])
        return True


_werkzeug_logger = logging.getLogger("werkzeug")
if not any(isinstance(f, HideWebhookSecrets) for f in _werkzeug_logger.filters):
    _werkzeug_logger.addFilter(HideWebhookSecrets())


class ClinicSmsWebhook(http.Controller):
    def _gateway(self, gateway_id, token):
        gateway = request.env["clinic.sms.gateway"].sudo().browse(gateway_id).exists()
        if not gateway or not gateway.active or not gateway._check_webhook_token(token):
            _logger.warning("clinic_sms: webhook for unknown gateway %s or wrong token", gateway_id)
            raise NotFound()
        return gateway

    @staticmethod
    def _core_request():
        httprequest = request.httprequest
        return gw.Request(
            method=httprequest.method,
            url=httprequest.url,
            headers={key.lower(): value for key, value in httprequest.headers.items()},
            body=httprequest.get_data(cache=True),
            form=httprequest.form.to_dict(),
            query=httprequest.args.to_dict(),
        )

    def _answer(self, gateway, kind, handle):
        client = gateway._clinic_sms_client()
        try:
            core_request = self._core_request()
            try:
                items = (
                    client.parse_report(core_request) if kind == "dlr" else client.parse_inbound(core_request)
                )
            except gw.WebhookError as error:
                _logger.warning(
                    "clinic_sms: %s webhook of gateway %s refused (%s): %s",
                    kind,
                    gateway.id,
                    type(error).__name__,
                    error.message,
                )
                return request.make_response(
                    error.message, headers=[("Content-Type", "text/plain")], status=error.status
                )
            handle(items)
            reply = client.reply(kind)
            return request.make_response(
                reply.body, headers=[("Content-Type", reply.content_type)], status=reply.status
            )
        finally:
            client.close()

    @http.route(
        "/clinic_sms/dlr/<int:gateway_id>/<string:token>",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def delivery_report(self, gateway_id, token, **_params):
        gateway = self._gateway(gateway_id, token)
        Message = request.env["clinic.sms.message"].sudo()
        return self._answer(
            gateway, "dlr", lambda reports: Message._clinic_sms_apply_reports(gateway, reports)
        )

    @http.route(
        "/clinic_sms/inbound/<int:gateway_id>/<string:token>",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def inbound(self, gateway_id, token, **_params):
        gateway = self._gateway(gateway_id, token)
        Message = request.env["clinic.sms.message"].sudo()
        return self._answer(
            gateway, "inbound", lambda inbounds: Message._clinic_sms_receive(gateway, inbounds)
        )
