from . import (
    clinic_sms_composer,
    clinic_sms_credit_purchase,
    clinic_sms_day,
    clinic_sms_purge,
    clinic_sms_reminder_run,
    clinic_sms_resend,
    clinic_sms_statement,
)
