from . import (
    calendar_event,
    clinic_sms_credit,
    clinic_sms_credit_price,
    clinic_sms_gateway,
    clinic_sms_keyword,
    clinic_sms_message,
    clinic_sms_rule,
    clinic_sms_template,
    ir_http,
    res_company,
    res_config_settings,
    res_partner,
)
