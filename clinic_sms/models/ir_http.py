from odoo import models
from odoo.http import request


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _dispatch(cls, endpoint):
        """The webhooks read the request themselves: Odoo's merge of query string and form fields
        into keyword arguments is not passed on to them, so a field named ``self`` (which Odoo
        passes to every endpoint as a keyword and which then fails with a TypeError) cannot turn a
        provider's call into a 500."""
        if endpoint.routing.get("clinic_sms_webhook"):
            request.params = {key: request.params[key] for key in ("gateway_id", "token")}
        return super()._dispatch(endpoint)
