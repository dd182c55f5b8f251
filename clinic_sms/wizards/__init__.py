from . import clinic_sms_credit_purchase, clinic_sms_statement
