"""Webhooks: delivery reports and patients' replies, one pair of URLs per gateway.

Each URL carries the gateway's secret token; the provider's own signature is checked on top where
the provider signs (GatewayAPI, Twilio). A request with a wrong token, a bad signature or a body
that cannot be read changes nothing and gets a 4xx; a valid report about a message we do not know
is answered 2xx (the provider would otherwise retry it for hours) and ignored.

Whatever arrives, the answer is one of 200 (accepted or ignored), 400 (unreadable), 403 (signature),
404 (token) or 413 (more than :data:`MAX_BYTES`, by its Content-Length or by what was read), never
500: a provider retries a 500 for hours. What the provider sent is cleaned (NUL, lone surrogates,
length; :mod:`..core.text`) before the models see it.
"""

import logging
import re

from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from odoo import http
from odoo.http import request

from ..core import gateway as gw

_logger = logging.getLogger(__name__)

#: The largest request a webhook reads: far more than any report or reply (a reply of ten SMS parts
#: is under 2 KB even as UCS-2 in a form), far less than Odoo's default limit of 128 MB.
MAX_BYTES = 64 * 1024

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
    def _body():
        """The request body; raises RequestEntityTooLarge beyond :data:`MAX_BYTES`.

        The Content-Length is checked first (Odoo refuses a larger form already, as the route's
        ``max_content_length``); a body without one (chunked) counts by what was read, and so do
        the form fields Odoo read before the controller was called. (Werkzeug 3 stops reading a
        chunked body at ``max_content_length``; Werkzeug 2.2, Odoo's choice on Python 3.11, reads
        it whole first, so a proxy's own limit still matters there.)"""
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > MAX_BYTES:
            raise RequestEntityTooLarge()
        body = httprequest.get_data(cache=True)
        form = sum(_size(key) + _size(value) for key, value in httprequest.form.items(multi=True))
        files = sum(_size(key) + _size(upload) for key, upload in httprequest.files.items(multi=True))
        if max(len(body), form + files) > MAX_BYTES:
            raise RequestEntityTooLarge()
        return body

    @classmethod
    def _core_request(cls):
        httprequest = request.httprequest
        body = cls._body()
        return gw.Request(
            method=httprequest.method,
            url=httprequest.url,
            headers={key.lower(): value for key, value in httprequest.headers.items()},
            body=body,
            form=httprequest.form.to_dict(),
            query=httprequest.args.to_dict(),
        )

    def _answer(self, gateway, kind, handle):
        client = gateway._clinic_sms_client()
        try:
            try:
                core_request = self._core_request()
                items = (
                    client.parse_report(core_request) if kind == "dlr" else client.parse_inbound(core_request)
                )
                items = [item.cleaned() for item in items]
            except RequestEntityTooLarge:
                _logger.warning("clinic_sms: %s webhook of gateway %s refused: too large", kind, gateway.id)
                raise
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
            except Exception as error:  # the last safety net: unreadable, not a 500
                # Neither the body nor the exception's words (they may quote the body or a number)
                # are logged: the exception's type and where it was raised are enough to fix it.
                _logger.warning(
                    "clinic_sms: %s webhook of gateway %s unreadable (%s at %s)",
                    kind,
                    gateway.id,
                    type(error).__name__,
                    _origin(error),
                )
                return request.make_response(
                    "The request cannot be read.", headers=[("Content-Type", "text/plain")], status=400
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
        max_content_length=MAX_BYTES,
        clinic_sms_webhook=True,
    )
    def delivery_report(self, gateway_id, token):
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
        max_content_length=MAX_BYTES,
        clinic_sms_webhook=True,
    )
    def inbound(self, gateway_id, token):
        gateway = self._gateway(gateway_id, token)
        Message = request.env["clinic.sms.message"].sudo()
        return self._answer(
            gateway, "inbound", lambda inbounds: Message._clinic_sms_receive(gateway, inbounds)
        )


def _size(value):
    """Bytes of a form field's name or value (UTF-8), or of an uploaded file."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    stream = value.stream  # werkzeug FileStorage: spooled to memory or disk, seekable
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _origin(error):
    """``file:line`` where ``error`` was raised (its innermost frame)."""
    trace = error.__traceback__
    while trace and trace.tb_next:
        trace = trace.tb_next
    if not trace:
        return "?"
    return f"{trace.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{trace.tb_lineno}"
