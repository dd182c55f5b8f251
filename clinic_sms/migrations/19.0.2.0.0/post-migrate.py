"""19.0.1.0.0 → 19.0.2.0.0, after the new schema: fields whose meaning the new version gives them.

* ``clinic.sms.message.simulated`` (new): what went through or came from a test gateway, which
  sends nothing, is marked simulated, so that the log never passes a test delivery off as real.
* ``clinic.sms.message.reply_to_id`` (new): an opt-out confirmation goes to a number that said
  STOP only as the answer to that STOP (the rule book asks for the link). The waiting
  confirmations of 19.0.1.0.0 are linked to the STOP they answer, so they still go.
* ``res.company.clinic_sms_opt_out_blacklist`` (new): 19.0.1.0.0 put every opted-out number on
  Odoo's blacklist. As at installation, a database with one company keeps doing so; with several,
  a STOP stays with the company that received it until an administrator decides otherwise.

* ``clinic.sms.credit.state`` (a model now, was a hand-made table): the month last granted and the
  thresholds warned of each company are copied back from the table pre-migrate kept aside.

Everything else is kept as it is: the log, the credit ledger, the settings, the gateways (the test
gateway too, if it was the default: the log then says that its messages are simulated).
"""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    cr.execute("SELECT to_regclass('clinic_sms_credit_state_v1')")
    if cr.fetchone()[0]:
        cr.execute(
            """INSERT INTO clinic_sms_credit_state (company_id, period, warned)
               SELECT company_id, period, warned FROM clinic_sms_credit_state_v1
               ON CONFLICT (company_id) DO UPDATE SET period = EXCLUDED.period, warned = EXCLUDED.warned"""
        )
        _logger.info("clinic_sms: credit state of %d companies kept", cr.rowcount)
        cr.execute("DROP TABLE clinic_sms_credit_state_v1")
    cr.execute(
        """UPDATE clinic_sms_message m SET simulated = TRUE
             FROM clinic_sms_gateway g
            WHERE g.id = m.gateway_id AND g.provider = 'test' AND m.simulated IS NOT TRUE"""
    )
    _logger.info("clinic_sms: %d messages of the test gateway marked simulated", cr.rowcount)
    cr.execute(
        """UPDATE clinic_sms_message m SET reply_to_id = (
                  SELECT r.id FROM clinic_sms_message r
                   WHERE r.kind = 'inbound' AND r.reply_action = 'stop' AND r.company_id = m.company_id
                     AND (r.number = m.number OR r.partner_id = m.partner_id) AND r.due_at <= m.due_at
                   ORDER BY r.due_at DESC, r.id DESC LIMIT 1)
            WHERE m.kind = 'opt_out' AND m.reply_to_id IS NULL AND m.state IN ('scheduled', 'queued')"""
    )
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["res.company"]._clinic_sms_init_opt_out_blacklist()
