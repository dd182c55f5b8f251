from datetime import timedelta

import pytz

from odoo import api, fields, models, modules
from odoo.addons.base.models.res_partner import _tz_get
from odoo.addons.sms.tools.sms_api import SmsApiBase
from odoo.exceptions import ValidationError

from ..constants import UNSENT_STATES
from ..core import credits, phone, setup
from ..core import gateway as gw

#: clinic.sms.message state → the state Odoo's sms.sms understands (see sms.sms._send_with_api).
ODOO_SMS_STATE = {"sent": "success", "buffered": "success", "delivered": "delivered"}


class ClinicSmsApi(SmsApiBase):
    """Odoo's own SMS (chatter, sms.composer, calendar alarms, the sms.sms queue) through the
    clinic's gateways.

    ``sms.sms._split_by_api`` (``models/sms_sms.py``) hands it the SMS of the companies that route
    Odoo's SMS through the clinic (``res.company._clinic_sms_routes_odoo_sms``); the queue cron's
    ``sms.sms._send`` reaches it through ``res.company._get_sms_api_class``. Each SMS becomes a row
    of the clinic's log, linked to Odoo's sms.sms by its uuid, and is dispatched at once by the
    clinic's dispatcher, with all of its checks (opt-out, blacklist, window, credits, failover).
    What cannot go now stays queued in the log and Odoo shows it as processing; later results reach
    Odoo's notifications through ``sms.tracker``.
    """

    def _send_sms_batch(self, messages, delivery_reports_url=False):
        Message = self.env["clinic.sms.message"].sudo()
        now = fields.Datetime.now()
        uuids = [info["uuid"] for message in messages for info in message.get("numbers") or []]
        odoo_sms = self.env["sms.sms"].sudo().search([("uuid", "in", uuids)]).grouped("uuid")
        vals_list = []
        for message in messages:
            for number_info in message.get("numbers") or []:
                sms = odoo_sms.get(number_info["uuid"])
                company = (sms and sms._get_sms_company()) or self.company or self.env.company
                number = phone.sender_e164(number_info.get("number"), company.country_id.code)
                vals_list.append(
                    {
                        "kind": "manual",
                        "body": message.get("content") or "",
                        "number": number,
                        "partner_id": self._clinic_sms_partner(sms, number, company).id,
                        "sms_uuid": number_info["uuid"],
                        "state": "queued",
                        "due_at": now,
                        "expire_at": now + timedelta(hours=24),
                        "company_id": company.id,
                    }
                )
        rows = Message.create(vals_list)
        rows._dispatch_batch(now)
        return [row._odoo_sms_result() for row in rows]

    def _clinic_sms_partner(self, sms, number, company):
        """The contact an SMS goes to: the one Odoo addressed (so that their opt-out counts even
        when Odoo writes to another of their numbers), else a contact of the company with that
        SMS number."""
        if sms and sms.partner_id:
            return sms.partner_id
        return (
            self.env["res.partner"]
            .sudo()
            .search([("sms_number_e164", "=", number), ("company_id", "in", [company.id, False])], limit=1)
        )


class ResCompany(models.Model):
    _inherit = "res.company"

    clinic_sms_enabled = fields.Boolean(
        "Clinic SMS",
        default=True,
        help="Master switch: when off, nothing is planned or sent for this company.",
    )
    clinic_sms_birthday_enabled = fields.Boolean("Birthday greetings", default=False)
    clinic_sms_window_start = fields.Float(
        "Sending window from",
        default=8.0,
        help="Earliest hour of the day (clinic time) at which SMS are sent. 0 means no limit.",
    )
    clinic_sms_window_end = fields.Float(
        "Sending window until",
        default=20.0,
        help="Latest hour of the day (clinic time) at which SMS are sent. 24 means no limit.",
    )
    clinic_sms_tz = fields.Selection(
        _tz_get,
        "Clinic time zone",
        default=lambda self: self.env.user.tz or "Europe/Copenhagen",
        help="Sending windows, send hours and the dates and times written in SMS use this time zone.",
    )
    clinic_sms_gateway_id = fields.Many2one(
        "clinic.sms.gateway",
        "Default SMS gateway",
        domain="[('company_id', 'in', [id, False])]",
    )
    clinic_sms_credit_check = fields.Boolean(
        "Check credits before sending",
        default=False,
        help="When on, a message is sent only if the credit balance pays for it; "
        "otherwise it waits with the reason 'no credit'.",
    )
    clinic_sms_credits_per_part = fields.Float(
        "Credits per SMS part", default=1.0, digits=(16, 2), help="What one SMS part costs in credits."
    )
    clinic_sms_route_odoo_sms = fields.Boolean(
        "Send all of Odoo's SMS through the clinic gateway",
        default=False,
        help="When on, SMS sent from the chatter, the SMS composer or calendar alarms go through the "
        "clinic's gateways and appear in the SMS log, with the same checks as reminders.",
    )
    clinic_sms_opt_out_blacklist = fields.Boolean(
        "Add opted-out numbers to Odoo's blacklist",
        default=False,
        help="When a patient replies STOP through this company's gateway, their number is opted out for "
        "this company's contacts and the shared ones; when this is on, it also goes on Odoo's phone "
        "blacklist, which every company and every SMS of Odoo respect. On by default in a database "
        "with one company.",
    )
    clinic_sms_consent_required = fields.Boolean(
        "Patients must consent to SMS",
        default=False,
        help="When on, only patients whose contact has the tick *Consents to SMS* get SMS from this "
        "company; the others are skipped with the reason 'no consent'. The answer to a patient's own "
        "reply (such as the confirmation of a STOP) still goes.",
    )
    clinic_sms_credit_balance = fields.Float(
        "SMS credit balance", compute="_compute_clinic_sms_credit_balance", digits=(16, 2)
    )
    clinic_sms_allowance_balance = fields.Float(
        "Left of this month's allowance", compute="_compute_clinic_sms_credit_balance", digits=(16, 2)
    )
    clinic_sms_pack_balance = fields.Float(
        "Left of purchased packs", compute="_compute_clinic_sms_credit_balance", digits=(16, 2)
    )
    clinic_sms_credit_low = fields.Boolean(
        "SMS credits low",
        compute="_compute_clinic_sms_credit_balance",
        help="The balance is at or below the highest warning threshold.",
    )
    clinic_sms_monthly_allowance = fields.Float(
        "Monthly SMS allowance",
        digits=(16, 2),
        default=0.0,
        help="Credits granted on the first day of every month (clinic time); what is left at the end "
        "of the month lapses. Purchased packs roll over and are used only after the allowance.",
    )
    clinic_sms_credit_thresholds = fields.Char(
        "Warn at balances",
        default="50,30,0",
        help="Comma-separated balances at which the Clinic SMS administrators are warned by e-mail "
        "(once each time the balance falls to one).",
    )
    clinic_sms_credit_warned = fields.Char(
        "Thresholds warned",
        compute="_compute_clinic_sms_credit_warned",
        help="The warning thresholds the balance is at or below (each was warned once).",
    )
    clinic_sms_credit_price_ids = fields.One2many(
        "clinic.sms.credit.price",
        "company_id",
        "Prices by country",
        help="Credits per SMS part for numbers starting with a prefix, instead of the default.",
    )

    _clinic_sms_window_valid = models.Constraint(
        "CHECK (clinic_sms_window_start >= 0 AND clinic_sms_window_end <= 24"
        " AND clinic_sms_window_start < clinic_sms_window_end)",
        "The SMS sending window must start before it ends, between 0 and 24 hours.",
    )

    @api.model
    def _clinic_sms_init_opt_out_blacklist(self):
        """At installation: in a database with a single company, opted-out numbers go on Odoo's
        blacklist (the add-on's behaviour before the setting existed); with several companies, a
        STOP stays with the company that received it until an administrator decides otherwise."""
        companies = self.sudo().search([], limit=2)
        if len(companies) == 1:
            companies.clinic_sms_opt_out_blacklist = True

    def _compute_clinic_sms_credit_balance(self):
        balances = self._clinic_sms_balances()
        for company in self:
            total, allowance = balances.get(company._origin.id, (0.0, 0.0))
            company.clinic_sms_credit_balance = total
            company.clinic_sms_allowance_balance = allowance
            company.clinic_sms_pack_balance = total - allowance
            thresholds = company._clinic_sms_thresholds()
            company.clinic_sms_credit_low = bool(thresholds) and total <= max(thresholds)

    def _clinic_sms_balances(self):
        """{company id: (balance, part of it that is this month's allowance)}, read now, in one query."""
        ids = [c.id for c in self._origin if c.id]
        if not ids:
            return {}
        self.env["clinic.sms.credit"].flush_model(["company_id", "amount", "allowance_amount"])
        self.env.cr.execute(
            """SELECT company_id, COALESCE(SUM(amount), 0), COALESCE(SUM(allowance_amount), 0)
                 FROM clinic_sms_credit WHERE company_id = ANY(%s) GROUP BY company_id""",
            [ids],
        )
        return {row[0]: (float(row[1]), float(row[2])) for row in self.env.cr.fetchall()}

    def _clinic_sms_thresholds(self):
        self.ensure_one()
        return credits.parse_thresholds(self.clinic_sms_credit_thresholds or "")

    @api.constrains("clinic_sms_credit_thresholds", "clinic_sms_monthly_allowance")
    def _check_clinic_sms_credit_settings(self):
        for company in self:
            try:
                credits.parse_thresholds(company.clinic_sms_credit_thresholds or "", strict=True)
            except ValueError:
                raise ValidationError(
                    self.env._("The warning thresholds must be numbers separated by commas, e.g. 50,30,0.")
                ) from None
            if company.clinic_sms_monthly_allowance < 0:
                raise ValidationError(self.env._("The monthly allowance cannot be negative."))

    def _clinic_sms_cost(self, number, parts):
        """Credits one message of ``parts`` parts to ``number`` costs (the longest matching prefix's
        price, else the company's credits per part)."""
        self.ensure_one()
        prices = {p.prefix.strip(): p.credits_per_part for p in self.clinic_sms_credit_price_ids}
        return credits.cost(parts, number or "", self.clinic_sms_credits_per_part, prices)

    def write(self, vals):
        switched_on = (
            self.filtered(lambda c: not c.clinic_sms_enabled) if vals.get("clinic_sms_enabled") else None
        )
        result = super().write(vals)
        if switched_on and not self.env.context.get("clinic_sms_no_plan"):
            # Switching Clinic SMS on again plans what is missing for future appointments.
            self.env["clinic.sms.planner"]._synchronize(switched_on)
        if "clinic_sms_monthly_allowance" in vals and self.ids:
            # A new allowance counts from now: the next roll grants this month's if none was.
            self.env["clinic.sms.credit.state"].sudo()._store(self.ids, period=False)
        return result

    def _compute_clinic_sms_credit_warned(self):
        ids = [c.id for c in self._origin if c.id]
        states = (
            self.env["clinic.sms.credit.state"]
            .sudo()
            .search_fetch([("company_id", "in", ids)], ["company_id", "warned"])
        )
        warned = {state.company_id.id: state.warned for state in states}
        for company in self:
            company.clinic_sms_credit_warned = warned.get(company._origin.id) or False

    @api.model
    def _cron_clinic_sms_credits(self):
        """Hourly: month changes (allowance, lapse) and low-balance warnings of every company."""
        companies = self.sudo().search([("clinic_sms_enabled", "=", True)])
        Credit = self.env["clinic.sms.credit"].sudo()
        Credit._warn(companies, Credit._roll(companies))

    def _clinic_sms_admin_emails(self):
        """The e-mail addresses of the Clinic SMS administrators of this company."""
        self.ensure_one()
        group = self.env.ref("clinic_sms.group_clinic_sms_manager")
        users = group.sudo().all_user_ids.filtered(
            lambda u: u.active and u.email and self in u.company_ids and not u.share
        )
        return ",".join(users.mapped("email_formatted"))

    @api.constrains("clinic_sms_gateway_id")
    def _check_clinic_sms_gateway(self):
        for company in self:
            gateway = company.clinic_sms_gateway_id
            if gateway.company_id and gateway.company_id != company:
                raise ValidationError(
                    self.env._("The default SMS gateway of %s belongs to another company.", company.name)
                )

    def _clinic_sms_routes_odoo_sms(self):
        """Whether Odoo's own SMS of this company go through the clinic's gateways."""
        self.ensure_one()
        return self.clinic_sms_route_odoo_sms and self.clinic_sms_enabled

    def _get_sms_api_class(self):
        self.ensure_one()
        if self._clinic_sms_routes_odoo_sms():
            return ClinicSmsApi
        return super()._get_sms_api_class()

    def _clinic_sms_settings(self):
        """The plain values the core needs for timing decisions."""
        self.ensure_one()
        return {
            "tz": self.clinic_sms_tz or "UTC",
            "window_start": self.clinic_sms_window_start,
            "window_end": self.clinic_sms_window_end,
        }

    def _clinic_sms_gateways_for(self, number, gateways=None):
        """The gateways to try for ``number``, in order (``core.gateway.route``), out of
        ``gateways`` (default: the company's active ones, see :meth:`_clinic_sms_gateways`)."""
        self.ensure_one()
        gateways = self._clinic_sms_gateways() if gateways is None else gateways
        order = gw.route(number or "", [g._prefix_list() for g in gateways])
        return gateways.browse([gateways[i].id for i in order])

    def _clinic_sms_gateways(self):
        """Active gateways of the company in the order they are tried, the default one first."""
        self.ensure_one()
        gateways = (
            self.env["clinic.sms.gateway"]
            .sudo()
            .search([("company_id", "in", [self.id, False])], order="sequence, id")
        )
        default = self.clinic_sms_gateway_id.sudo()
        if default and default.active:
            gateways = default | (gateways - default)
        return gateways

    # --- log care: retention

    clinic_sms_retention_days = fields.Integer(
        "Keep the SMS log for (days)",
        default=0,
        help="Sent, failed, cancelled and skipped messages and patients' replies older than this are "
        "deleted automatically every night. 0 keeps them forever. The credit ledger is kept.",
    )

    @api.model
    def _cron_clinic_sms_purge(self):
        """Delete the log rows older than each company's retention period (when it has one)."""
        now = fields.Datetime.now()
        context = self.env.context
        autocommit = bool(context.get("cron_id")) and not modules.module.current_test
        Message = self.env["clinic.sms.message"].sudo()
        deleted = 0
        companies = self.sudo().search([("clinic_sms_retention_days", ">", 0)])
        for days, group in companies.grouped("clinic_sms_retention_days").items():
            deleted += Message._clinic_sms_purge(now - timedelta(days=days), group.ids, autocommit=autocommit)
        return deleted

    # --- setup: the checklist, the no-gateway banner and e-mail

    clinic_sms_reviewed_lang_ids = fields.Many2many(
        "res.lang",
        "clinic_sms_company_reviewed_lang_rel",
        "company_id",
        "lang_id",
        "SMS templates reviewed in",
        help="The languages in which an administrator has read the SMS templates (setup checklist).",
    )
    clinic_sms_no_gateway_warned = fields.Boolean(
        "Warned that no SMS gateway is set up",
        readonly=True,
        copy=False,
        help="The Clinic SMS administrators were e-mailed that messages wait for a gateway; again only "
        "after a gateway has existed.",
    )
    clinic_sms_no_gateway = fields.Boolean(
        "No SMS gateway",
        compute="_compute_clinic_sms_gateway_state",
        help="Clinic SMS is on but no active gateway can take this company's messages: nothing is sent.",
    )
    clinic_sms_no_gateway_count = fields.Integer(
        "Messages waiting for a gateway", compute="_compute_clinic_sms_gateway_state"
    )
    clinic_sms_simulated = fields.Boolean(
        "Test gateway in use",
        compute="_compute_clinic_sms_gateway_state",
        help="A test gateway, which sends nothing, can take this company's messages.",
    )
    clinic_sms_setup_tz_done = fields.Boolean("Time zone set", compute="_compute_clinic_sms_setup")
    clinic_sms_setup_window_done = fields.Boolean("Sending window set", compute="_compute_clinic_sms_setup")
    clinic_sms_setup_gateway_done = fields.Boolean(
        "A real gateway took a test SMS", compute="_compute_clinic_sms_setup"
    )
    clinic_sms_setup_templates_done = fields.Boolean(
        "Templates reviewed", compute="_compute_clinic_sms_setup"
    )
    clinic_sms_setup_credits_done = fields.Boolean("Credits available", compute="_compute_clinic_sms_setup")
    clinic_sms_setup_credits_apply = fields.Boolean(
        "Credits step applies", compute="_compute_clinic_sms_setup"
    )
    clinic_sms_setup_done = fields.Boolean("Setup complete", compute="_compute_clinic_sms_setup")
    clinic_sms_setup_steps_done = fields.Integer("Setup steps done", compute="_compute_clinic_sms_setup")
    clinic_sms_setup_steps_total = fields.Integer("Setup steps", compute="_compute_clinic_sms_setup")
    clinic_sms_setup_langs_todo = fields.Char("Languages to review", compute="_compute_clinic_sms_setup")
    clinic_sms_setup_lang_next_id = fields.Many2one(
        "res.lang", "Next language to review", compute="_compute_clinic_sms_setup"
    )
    clinic_sms_setup_langs_reviewed = fields.Char("Languages reviewed", compute="_compute_clinic_sms_setup")

    def _compute_clinic_sms_gateway_state(self):
        Message = self.env["clinic.sms.message"].sudo()
        ids = [c.id for c in self._origin if c.id]
        waiting = dict(
            Message._read_group(
                [("company_id", "in", ids), ("reason", "=", "no_gateway"), ("state", "in", UNSENT_STATES)],
                ["company_id"],
                ["__count"],
            )
        )
        for company in self:
            gateways = company._origin._clinic_sms_active_gateways()
            company.clinic_sms_no_gateway = company.clinic_sms_enabled and not gateways
            company.clinic_sms_simulated = any(g.simulated for g in gateways)
            company.clinic_sms_no_gateway_count = waiting.get(company._origin, 0)

    def _clinic_sms_active_gateways(self):
        """The gateways that can take this company's messages now, whatever the caller's context."""
        if not self.id:
            return self.env["clinic.sms.gateway"]
        return self.sudo().with_context(active_test=True)._clinic_sms_gateways()

    def _clinic_sms_patient_langs(self):
        """The languages of this company's patients (contacts of it or shared, with a valid SMS
        number, not companies nor internal users), and the company's own language, as codes."""
        self.ensure_one()
        self.env["res.partner"].flush_model(["lang", "sms_number_e164", "company_id", "active", "is_company"])
        self.env["res.users"].flush_model(["partner_id", "share"])
        self.env.cr.execute(
            """SELECT DISTINCT p.lang FROM res_partner p
                WHERE p.active AND p.sms_number_e164 IS NOT NULL AND p.lang IS NOT NULL
                  AND p.is_company IS NOT TRUE AND (p.company_id = %s OR p.company_id IS NULL)
                  AND NOT EXISTS (SELECT 1 FROM res_users u WHERE u.partner_id = p.id AND u.share IS NOT TRUE)
                ORDER BY p.lang""",
            [self.id],
        )
        own = self.partner_id.lang or "en_US"
        return [own, *(row[0] for row in self.env.cr.fetchall() if row[0] != own)]

    def _clinic_sms_setup_checklist(self):
        """This company's setup checklist (``core.setup``)."""
        self.ensure_one()
        company = self.sudo()
        gateways = company._clinic_sms_active_gateways()
        country = company.country_id.code
        return setup.checklist(
            setup.Facts(
                tz=company.clinic_sms_tz or "",
                country_tzs=tuple(pytz.country_timezones.get(country, ())) if country else (),
                window_start=company.clinic_sms_window_start,
                window_end=company.clinic_sms_window_end,
                gateways=tuple(setup.Gateway(g.simulated, bool(g.test_sms_at)) for g in gateways),
                langs=tuple(company._clinic_sms_patient_langs()) if company.id else (),
                reviewed=frozenset(company.clinic_sms_reviewed_lang_ids.mapped("code")),
                credit_check=company.clinic_sms_credit_check,
                balance=company.clinic_sms_credit_balance,
            )
        )

    def _compute_clinic_sms_setup(self):
        Lang = self.env["res.lang"].sudo().with_context(active_test=False)
        for company in self:
            steps = company._origin._clinic_sms_setup_checklist()
            found = Lang.search([("code", "in", steps.langs_todo)]).grouped("code")
            todo = Lang.concat(*(found[code] for code in steps.langs_todo if code in found))
            company.clinic_sms_setup_tz_done = steps.tz
            company.clinic_sms_setup_window_done = steps.window
            company.clinic_sms_setup_gateway_done = steps.gateway
            company.clinic_sms_setup_templates_done = steps.templates
            company.clinic_sms_setup_credits_done = steps.credits
            company.clinic_sms_setup_credits_apply = steps.credits_apply
            company.clinic_sms_setup_done = steps.done
            company.clinic_sms_setup_steps_done = steps.done_count
            company.clinic_sms_setup_steps_total = steps.total
            company.clinic_sms_setup_langs_todo = ", ".join(todo.mapped("name")) or False
            company.clinic_sms_setup_lang_next_id = todo[:1]
            company.clinic_sms_setup_langs_reviewed = (
                ", ".join(company.sudo().clinic_sms_reviewed_lang_ids.mapped("name")) or False
            )

    def _clinic_sms_no_gateway_warning_due(self):
        """Called by the dispatcher when messages of these companies found no gateway at all: when
        their administrators were not warned yet, run the warning cron at once (it sends the e-mail;
        the dispatcher itself neither renders nor writes anything here)."""
        if self.filtered(lambda c: not c.clinic_sms_no_gateway_warned):
            self.env.ref("clinic_sms.ir_cron_clinic_sms_no_gateway")._trigger()
            return True
        return False

    @api.model
    def _cron_clinic_sms_no_gateway(self):
        """E-mail the Clinic SMS administrators of each company whose messages wait for a gateway
        because it has none: once, until a gateway exists again (then the warning re-arms)."""
        companies = self.sudo().search([("clinic_sms_enabled", "=", True)])
        template = self.env.ref("clinic_sms.mail_template_no_gateway", raise_if_not_found=False)
        warned = 0
        for company in companies:
            if company._clinic_sms_active_gateways():
                if company.clinic_sms_no_gateway_warned:
                    company.clinic_sms_no_gateway_warned = False
                continue
            if company.clinic_sms_no_gateway_warned or not company.clinic_sms_no_gateway_count:
                continue
            if template:
                template.sudo().with_context(
                    clinic_sms_waiting=company.clinic_sms_no_gateway_count
                ).send_mail(company.id)
            company.clinic_sms_no_gateway_warned = True
            warned += 1
        return warned
