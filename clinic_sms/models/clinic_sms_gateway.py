import logging
import secrets
from urllib.parse import quote

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import access
from ..core import gateway as gw
from ..core import phone, providers

_logger = logging.getLogger(__name__)

PROVIDERS = [
    ("test", "Test gateway (sends nothing)"),
    ("gatewayapi", "GatewayAPI"),
    ("smsapi", "SMSAPI.pl"),
    ("twilio", "Twilio"),
    ("kannel", "Kannel (self-hosted, GSM modem or SMPP)"),
]


class ClinicSmsGateway(models.Model):
    _name = "clinic.sms.gateway"
    _description = "Clinic SMS gateway"
    _order = "sequence, id"

    name = fields.Char(required=True)
    provider = fields.Selection(
        PROVIDERS,
        required=True,
        help="Test gateway: sends nothing (its messages are marked simulated); accepts every number, "
        "refuses numbers ending in 0000, fails temporarily for numbers ending in 9999, and reports "
        "delivery at once.",
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
    webhook_secret = fields.Char(
        groups="base.group_system",
        copy=False,
        help="The secret the provider signs its webhooks with (GatewayAPI: the webhook's JWT secret).",
    )
    timeout = fields.Integer(
        "Timeout (seconds)", default=10, help="How long a call to the provider may take before it is retried."
    )
    dlr_url = fields.Char("Delivery report URL", compute="_compute_webhook_urls", groups="base.group_system")
    inbound_url = fields.Char("Replies URL", compute="_compute_webhook_urls", groups="base.group_system")
    can_poll = fields.Boolean("Answers status questions", compute="_compute_capabilities")
    receives_inbound = fields.Boolean("Passes on replies", compute="_compute_capabilities")
    simulated = fields.Boolean(
        compute="_compute_simulated",
        help="The gateway only pretends to send (the test gateway): nothing reaches a patient.",
    )
    test_sms_at = fields.Datetime(
        "Last successful test SMS",
        readonly=True,
        copy=False,
        help="When a test SMS sent with *Send test SMS* was last accepted or delivered.",
    )
    message_count = fields.Integer("Messages", compute="_compute_message_count")
    credit_balance = fields.Float(
        "Credits", compute="_compute_credit_balance", digits=(16, 2), help="The company's SMS credit balance."
    )

    _timeout_positive = models.Constraint(
        "CHECK (timeout IS NULL OR (timeout > 0 AND timeout <= 120))",
        "The gateway timeout must be between 1 and 120 seconds.",
    )

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
        return gw.parse_prefixes(self.prefixes)

    def _webhook_base(self, kind):
        self.ensure_one()
        token = quote(self.sudo().webhook_token or "", safe="")
        return f"{self.get_base_url()}/clinic_sms/{kind}/{self.id}/{token}"

    @api.depends("provider", "webhook_token")
    def _compute_webhook_urls(self):
        for gateway in self:
            if not gateway.id or not isinstance(gateway.id, int) or not gateway.provider:
                gateway.dlr_url = gateway.inbound_url = False
                continue
            client = providers.make_client(gateway.provider, timeout=1)
            try:
                gateway.dlr_url = (
                    client.webhook_url("dlr", gateway._webhook_base("dlr"))
                    if gateway.provider != "test"
                    else False
                )
                gateway.inbound_url = (
                    client.webhook_url("inbound", gateway._webhook_base("inbound"))
                    if client.receives_inbound
                    else False
                )
            finally:
                client.close()

    @api.depends("provider")
    def _compute_capabilities(self):
        for gateway in self:
            client = providers.client_class(gateway.provider) if gateway.provider else providers.Client
            gateway.can_poll = client.can_poll
            gateway.receives_inbound = client.receives_inbound

    @api.depends("provider")
    def _compute_simulated(self):
        for gateway in self:
            gateway.simulated = bool(gateway.provider) and providers.client_class(gateway.provider).simulated

    def _compute_message_count(self):
        counts = dict(
            self.env["clinic.sms.message"]._read_group(
                [("gateway_id", "in", self.ids)], ["gateway_id"], ["__count"]
            )
        )
        for gateway in self:
            gateway.message_count = counts.get(gateway._origin, 0)

    def _compute_credit_balance(self):
        for gateway in self:
            gateway.credit_balance = (gateway.company_id or self.env.company).clinic_sms_credit_balance

    def _clinic_sms_client(self):
        """The core client for this gateway, with its credentials and webhook URLs."""
        self.ensure_one()
        gateway = self.sudo()
        return providers.make_client(
            gateway.provider,
            api_url=gateway.api_url or "",
            username=gateway.username or "",
            password=gateway.password or "",
            api_key=gateway.api_key or "",
            webhook_secret=gateway.webhook_secret or "",
            sender=gateway.sender or "",
            dlr_url=gateway._webhook_base("dlr"),
            inbound_url=gateway._webhook_base("inbound"),
            timeout=float(gateway.timeout or gw.DEFAULT_TIMEOUT),
        )

    def _check_webhook_token(self, token):
        """Whether ``token`` is this gateway's webhook token (in constant time)."""
        self.ensure_one()
        expected = self.sudo().webhook_token or ""
        return bool(expected) and secrets.compare_digest(expected.encode(), (token or "").encode())

    def _clinic_sms_send(self, outgoing):
        """Hand ``outgoing`` (core Outgoing messages) to the provider; one Result per message.

        Never raises for a provider's failure: a client that breaks is logged and every message
        counts as a temporary failure, so nothing is lost.
        """
        self.ensure_one()
        client = self._clinic_sms_client()
        try:
            results = client.send(outgoing)
            if len(results) != len(outgoing):
                raise ValueError(f"{len(results)} results for {len(outgoing)} messages")
            return results
        except Exception as error:  # a client bug must not lose messages
            _logger.exception("clinic_sms: gateway %s (%s) failed", self.id, self.provider)
            text = self.env._("The gateway connection failed unexpectedly (%s).", type(error).__name__)
            return [gw.Result(o.ref, gw.TEMPORARY, reason=gw.R_GATEWAY_ERROR, error=text) for o in outgoing]
        finally:
            client.close()

    def _clinic_sms_fetch_status(self, provider_refs):
        """Ask the provider about ``provider_refs``; the reports it gives (none when it cannot)."""
        self.ensure_one()
        client = self._clinic_sms_client()
        try:
            return client.fetch_status(provider_refs) if client.can_poll else []
        except Exception:  # a failed poll changes nothing; the next one retries
            _logger.warning("clinic_sms: status poll of gateway %s failed", self.id, exc_info=True)
            return []
        finally:
            client.close()

    # ------------------------------------------------------------------ access

    @api.model_create_multi
    def create(self, vals_list):
        if any(not vals.get("company_id") for vals in vals_list):
            access.require_every_company(self.env)
        return super().create(vals_list)

    def write(self, vals):
        # A shared gateway carries every company's messages: only who answers for every company
        # changes it, or makes a gateway shared.
        if self.filtered(lambda g: not g.company_id) or ("company_id" in vals and not vals["company_id"]):
            access.require_every_company(self.env)
        return super().write(vals)

    def unlink(self):
        if self.filtered(lambda g: not g.company_id):
            access.require_every_company(self.env)
        return super().unlink()

    def _clinic_sms_check_admin(self, change=False):
        """The caller is a Clinic SMS administrator of these gateways' companies; ``change``: the
        button changes the gateway, so a shared one needs an administrator of every company."""
        access.require_manager(self.env)
        self.check_access("write")
        access.require_companies(self.env, self.company_id)
        if change and self.filtered(lambda g: not g.company_id):
            access.require_every_company(self.env)

    # ------------------------------------------------------------------ buttons

    def action_regenerate_webhook_token(self):
        """A new secret token: the old webhook URLs stop working at once. Clinic SMS administrators,
        on their companies' gateways (a shared gateway: administrators of every company)."""
        self._clinic_sms_check_admin(change=True)
        for gateway in self:
            gateway.sudo().webhook_token = secrets.token_urlsafe(24)

    def action_send_test(self):
        """Send a test SMS to the current user's own number and say what happened. Clinic SMS
        administrators, on their companies' and the shared gateways."""
        self.ensure_one()
        self._clinic_sms_check_admin()
        number = self._clinic_sms_test_number()
        return self._clinic_sms_send_test(
            number, self.env._("Test SMS from %s", self.env.company.name), self.name
        )

    @api.model
    def _clinic_sms_test_number(self):
        """The current user's own number (E.164), which test SMS go to; a UserError without one."""
        user_partner = self.env.user.partner_id
        check = phone.check(user_partner.sms_number or user_partner.phone, user_partner._clinic_sms_region())
        if check.state != "valid":
            raise UserError(
                self.env._("Your own contact has no valid mobile number to send a test to: %s", check.message)
            )
        return check.e164

    def _clinic_sms_send_test(self, number, body, title):
        """Hand ``body`` to this gateway for ``number`` at once and say what happened, as a
        notification titled ``title``: nothing is logged and no credits are used. The send-test
        buttons of the gateway and of the composer both come here."""
        self.ensure_one()
        result = self._clinic_sms_send(
            [
                gw.Outgoing(
                    # unique: SMSAPI refuses a second message with the same reference (check_idx)
                    ref=f"test-{secrets.token_hex(6)}",
                    number=number,
                    body=body,
                    sender=self.sender or "",
                )
            ]
        )[0]
        masked = phone.mask(number)
        if result.status in (gw.SENT, gw.DELIVERED) and not self.simulated:
            # The setup checklist asks for a real gateway that took a test SMS.
            self.sudo().test_sms_at = fields.Datetime.now()
        if result.status == gw.DELIVERED and self.simulated:
            text, kind = (
                self.env._(
                    "Simulated: the test gateway sends nothing, so no SMS went to %s. Set up a real "
                    "gateway to reach patients.",
                    masked,
                ),
                "warning",
            )
        elif result.status == gw.DELIVERED:
            text, kind = self.env._("The test SMS to %s was delivered.", masked), "success"
        elif result.status == gw.SENT:
            text, kind = (
                self.env._(
                    "The gateway accepted the test SMS to %s. It should arrive within a minute.", masked
                ),
                "success",
            )
        elif result.status == gw.TEMPORARY:
            text, kind = (
                self.env._("The gateway could not take the test SMS for now: %s", result.error),
                "warning",
            )
        else:
            text, kind = self.env._("The gateway refused the test SMS: %s", result.error), "danger"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": title, "message": text, "type": kind, "sticky": False},
        }
