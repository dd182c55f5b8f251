"""19.0.1.0.0 → 19.0.2.0.0, before the new schema: what the new unique indexes would refuse.

*Send reminders now* now sends at most one manual reminder per appointment, patient and start, and
a unique index says so. A database of 19.0.1.0.0 may hold several waiting ones: the first (or the
one already handed to a gateway) stays, the other waiting ones are withdrawn as duplicates, so that
the index can be created. Nothing that was sent changes.

The credit lock-and-state table ``clinic_sms_credit_state`` was a hand-made table; it is now the
model ``clinic.sms.credit.state`` (so that uninstalling removes it). Its rows (the month last
granted, the thresholds warned) are kept aside here and put back by post-migrate.
"""

import logging

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    _keep_credit_state(cr)
    cr.execute(
        """WITH ranked AS (
               SELECT id, state, row_number() OVER (
                          PARTITION BY event_id, partner_id, event_start
                          ORDER BY state IN ('sending', 'sent', 'delivered', 'buffered') DESC, id) AS n
                 FROM clinic_sms_message
                WHERE kind = 'reminder' AND rule_id IS NULL AND event_id IS NOT NULL
                  AND partner_id IS NOT NULL AND event_start IS NOT NULL
                  AND state IN ('scheduled', 'queued', 'sending', 'sent', 'delivered', 'buffered'))
           UPDATE clinic_sms_message m SET state = 'cancelled', reason = 'duplicate'
             FROM ranked r
            WHERE m.id = r.id AND r.n > 1 AND r.state IN ('scheduled', 'queued')"""
    )
    if cr.rowcount:
        _logger.info("clinic_sms: %d duplicate manual reminders withdrawn", cr.rowcount)


def _keep_credit_state(cr):
    cr.execute(
        """SELECT 1 FROM information_schema.columns
            WHERE table_name = 'clinic_sms_credit_state' AND column_name = 'id'"""
    )
    if cr.fetchone():
        return  # already the model's table
    cr.execute("SELECT to_regclass('clinic_sms_credit_state')")
    if cr.fetchone()[0]:
        cr.execute("ALTER TABLE clinic_sms_credit_state RENAME TO clinic_sms_credit_state_v1")
