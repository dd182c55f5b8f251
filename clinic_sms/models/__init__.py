# The mixins of clinic.sms.message and clinic.sms.planner come first: a model's parents must exist
# before it is built.
from . import (
    clinic_sms_message_dispatch,
    clinic_sms_message_email,
    clinic_sms_message_inbound,
    clinic_sms_message_odoo_sms,
    clinic_sms_message_recovery,
    clinic_sms_message_render,
    clinic_sms_planner_birthdays,
    clinic_sms_planner_days,
    clinic_sms_planner_notices,
    clinic_sms_planner_recalls,
)

# isort: split
from . import (
    calendar_alarm,
    calendar_event,
    clinic_sms_audit_mixin,
    clinic_sms_credit,
    clinic_sms_credit_price,
    clinic_sms_credit_rate,
    clinic_sms_credit_state,
    clinic_sms_eligibility,
    clinic_sms_gateway,
    clinic_sms_keyword,
    clinic_sms_message,
    clinic_sms_planner,
    clinic_sms_rule,
    clinic_sms_template,
    ir_http,
    mail_mail,
    mail_thread,
    res_company,
    res_config_settings,
    res_partner,
    sms_sms,
)
