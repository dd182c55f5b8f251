"""Odoo's own SMS through the clinic's gateways: every way Odoo sends an SMS ends in ``send()``."""

from collections import defaultdict

from odoo import models

from .res_company import ClinicSmsApi


class SmsSms(models.Model):
    _inherit = "sms.sms"

    def _split_by_api(self):
        """Per company, as ``sms_twilio`` does: the SMS of companies that route Odoo's SMS through
        the clinic (the chatter's, the SMS composer's, calendar SMS alarms') go to
        :class:`ClinicSmsApi`, the others to whatever API Odoo would use (IAP, Twilio).

        ``sms.sms.send()`` asks only this method; ``res.company._get_sms_api_class`` is asked only
        by ``_send()`` without an API, i.e. by the ``sms.sms`` queue cron.
        """
        by_company = defaultdict(lambda: self.browse())
        for sms in self:
            by_company[sms._get_sms_company()] |= sms
        others = self.browse()
        for company, records in by_company.items():
            if company and company._clinic_sms_routes_odoo_sms():
                sms_api = ClinicSmsApi(self.env)
                sms_api._set_company(company)
                yield sms_api, records
            else:
                others |= records
        if others:
            yield from super(SmsSms, others)._split_by_api()
