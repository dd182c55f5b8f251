"""Who may call what: the checks every public method of the add-on makes before it does anything.

Every public method of a model is an API any logged-in user can call over JSON-RPC, whatever the
views show. So each one starts with these checks (groups, then companies, then the records' own
access rights), and only then does its work, as superuser where it must. The README's *Security*
table lists every public method and its rule; ``clinic_sms/tests/test_security_rpc.py`` calls each
one through ``/web/dataset/call_kw`` as every kind of user.

Plain functions taking an environment, so models and wizards share them without importing each
other.
"""

from odoo.exceptions import AccessError

USER = "clinic_sms.group_clinic_sms_user"
MANAGER = "clinic_sms.group_clinic_sms_manager"


def require_user(env):
    """The caller is a Clinic SMS user (administrators are users too)."""
    if not env.su and not env.user.has_group(USER):
        raise AccessError(env._("Only Clinic SMS users can do this."))


def require_manager(env):
    """The caller is a Clinic SMS administrator."""
    if not env.su and not env.user.has_group(MANAGER):
        raise AccessError(env._("Only Clinic SMS administrators can do this."))


def require_companies(env, companies):
    """Every company of ``companies`` is one the caller works in now (``env.companies``)."""
    if env.su:
        return
    outside = companies.sudo() - env.companies
    if outside:
        raise AccessError(
            env._(
                "You cannot do this for %(companies)s: it is not one of your companies.",
                companies=", ".join(outside.mapped("name")),
            )
        )


def administers_every_company(env):
    """Whether the caller may change what every company shares (a gateway without a company):
    a system administrator, or a user of every company of the database."""
    if env.su or env.user.has_group("base.group_system"):
        return True
    every = env["res.company"].sudo().search([])
    return not (every - env.user.sudo().company_ids)


def require_every_company(env):
    if not administers_every_company(env):
        raise AccessError(
            env._(
                "A gateway shared by every company can only be changed by a system administrator or "
                "by an administrator of every company."
            )
        )
