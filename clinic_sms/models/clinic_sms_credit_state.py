from odoo import api, fields, models
from odoo.tools import SQL


class ClinicSmsCreditState(models.Model):
    """One row per company: written by whoever spends or grants its credits, as a lock (see
    :meth:`_lock`), and where the month last granted and the thresholds warned are kept.

    A model of its own (not the company row, not a table made by hand), so that editing a company
    never waits for a dispatcher, a dispatcher never waits for a form, and uninstalling the add-on
    drops the table with everything in it. No user reads or writes it: only the credit ledger's
    code does, as superuser (``clinic.sms.credit``).
    """

    _name = "clinic.sms.credit.state"
    _description = "Clinic SMS credits: a company's lock and state"
    _log_access = False

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", readonly=True)
    period = fields.Char(
        readonly=True, help="The month (YYYY-MM, clinic time) whose allowance was granted last."
    )
    warned = fields.Char(
        readonly=True, help="The warning thresholds the balance is at or below (each warned once)."
    )

    _company_once = models.UniqueIndex("(company_id)", "A company has one credit state.")

    @api.model
    def _lock(self, companies):
        """Make this transaction the only one changing ``companies``' credits until it ends; answer
        {company id: (month last granted, thresholds warned)}.

        The lock is a write to each company's row (``INSERT … ON CONFLICT DO UPDATE``, which also
        creates the row the first time), not a mere ``FOR UPDATE``: a dispatcher in READ COMMITTED
        waits, then reads the other's committed ledger lines; one in REPEATABLE READ that started
        before the other committed fails with a serialization error instead of spending from a stale
        balance (Odoo retries it). Rows are locked in the order of the companies' ids, so two
        transactions locking several companies never wait for each other in a circle.
        """
        ids = sorted(set(companies.ids))
        if not ids:
            return {}
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """INSERT INTO %(table)s (company_id) SELECT unnest(%(ids)s::int[])
                   ON CONFLICT (company_id) DO UPDATE SET company_id = EXCLUDED.company_id
                   RETURNING company_id, period, warned""",
                table=SQL.identifier(self._table),
                ids=ids,
            )
        )
        rows = self.env.cr.fetchall()
        self.invalidate_model(["period", "warned"])  # other transactions may have changed them
        return {company_id: (period, warned) for company_id, period, warned in rows}

    @api.model
    def _store(self, company_ids, **values):
        """Set ``values`` (``period``, ``warned``) on the rows of ``company_ids``, in one query."""
        names = sorted(values)
        if set(names) - {"period", "warned"}:
            raise ValueError(f"not a field of the credit state: {names}")
        if not company_ids or not names:
            return
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "UPDATE %s SET %s WHERE company_id = ANY(%s)",
                SQL.identifier(self._table),
                SQL(", ").join(SQL("%s = %s", SQL.identifier(name), values[name] or None) for name in names),
                list(company_ids),
            )
        )
        self.invalidate_model(names)
