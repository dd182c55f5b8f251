import logging
import secrets

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..core import gateway as gw
from ..core import phone

_logger = logging.getLogger(__name__)


class ClinicSmsGateway(models.Model):
    _name = "clinic.sms.gateway"
    _description = "Clinic SMS gateway"
    _order = "sequence, id"

    name = fields.Char(required=True)
    provider = fields.Selection(
        [("test", "Test gateway (sends nothing)")],
        required=True,
        default="test",
        help="Test gateway: accepts every number, refuses numbers ending in 0000, fails temporarily for "
        "numbers ending in 9999, and reports delivery at once.",
    )
    sender = fields.Char(help="Sender name (up to 11 letters or digits) or number shown to patients.")
    company_id = fields.Many2one("res.company", index=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    prefixes = fields.Char(
        help="Comma-separated international prefixes this gateway serves, e.g. +45,+46. Empty: all numbers."
    )
    api_url = fields.Char("API URL", groups="base.group_system")
    username = fields.Char(groups="base.group_system")
    password = fields.Char(groups="base.group_system")
    api_key = fields.Char("API key", groups="base.group_system")
    webhook_token = fields.Char(
        groups="base.group_system", copy=False, default=lambda self: secrets.token_urlsafe(24)
    )
    webhook_secret = fields.Char(groups="base.group_system", copy=False)
    message_count = fields.Integer("Messages", compute="_compute_message_count")

    @api.constrains("sender")
    def _check_sender(self):
        for gateway in self:
            sender = gateway.sender or ""
            if sender and not (
                (sender.isalnum() and len(sender) <= 11)
                or (sender.lstrip("+").isdigit() and len(sender.lstrip("+")) <= 15)
            ):
                raise ValidationError(
                    self.env._(
                        "The sender must be up to 11 letters and digits, or a number of up to 15 digits."
                    )
                )

    @api.constrains("prefixes")
    def _check_prefixes(self):
        for gateway in self:
            for prefix in gateway._prefix_list():
                if not (prefix.startswith("+") and prefix[1:].isdigit()):
                    raise ValidationError(
                        self.env._("%s is not an international prefix such as +45.", prefix)
                    )

    def _prefix_list(self):
        self.ensure_one()
        return [p.strip() for p in (self.prefixes or "").split(",") if p.strip()]

    def _compute_message_count(self):
        counts = dict(
            self.env["clinic.sms.message"]._read_group(
                [("gateway_id", "in", self.ids)], ["gateway_id"], ["__count"]
            )
        )
        for gateway in self:
            gateway.message_count = counts.get(gateway._origin, 0)

    def _clinic_sms_client(self):
        self.ensure_one()
        return gw.make_client(self.sudo().provider)

    def _clinic_sms_send(self, outgoing):
        """Hand ``outgoing`` (core Outgoing messages) to the provider; one Result per message."""
        self.ensure_one()
        client = self._clinic_sms_client()
        try:
            return client.send(outgoing)
        finally:
            client.close()

    def action_send_test(self):
        """Send a test SMS to the current user's own number and say what happened."""
        self.ensure_one()
        user_partner = self.env.user.partner_id
        check = phone.check(user_partner.sms_number or user_partner.phone, user_partner._clinic_sms_region())
        if check.state != "valid":
            raise UserError(
                self.env._("Your own contact has no valid mobile number to send a test to: %s", check.message)
            )
        result = self._clinic_sms_send(
            [
                gw.Outgoing(
                    ref="test", number=check.e164, body=self.env._("Test SMS from %s", self.env.company.name)
                )
            ]
        )[0]
        if result.status in (gw.SENT, gw.DELIVERED):
            message, kind = (
                self.env._("The gateway accepted the test SMS to %s.", phone.mask(check.e164)),
                "success",
            )
        elif result.status == gw.TEMPORARY:
            message, kind = self.env._("The gateway failed for now: %s", result.error), "warning"
        else:
            message, kind = self.env._("The gateway refused the test SMS: %s", result.error), "danger"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": self.name, "message": message, "type": kind, "sticky": False},
        }
