import { user } from "@web/core/user";
import { patch } from "@web/core/utils/patch";
import { AttendeeCalendarController } from "@calendar/views/attendee_calendar/attendee_calendar_controller";
import { onWillStart, useState } from "@odoo/owl";

/**
 * The calendar says so when no SMS gateway is set up for the current company: the appointments'
 * reminders are planned, but nothing is being sent. Shown to Clinic SMS users; informative only.
 */
patch(AttendeeCalendarController.prototype, {
    setup() {
        super.setup(...arguments);
        this.clinicSmsGateway = useState({ missing: false, waiting: 0 });
        onWillStart(() => {
            // Not awaited: the calendar never waits for the banner.
            this.loadClinicSmsGateway();
        });
    },

    async loadClinicSmsGateway() {
        try {
            const companyId = user.activeCompany?.id;
            if (!companyId || !(await user.hasGroup("clinic_sms.group_clinic_sms_user"))) {
                return;
            }
            const [company] = await this.orm.read("res.company", [companyId], [
                "clinic_sms_no_gateway",
                "clinic_sms_no_gateway_count",
            ]);
            Object.assign(this.clinicSmsGateway, {
                missing: Boolean(company?.clinic_sms_no_gateway),
                waiting: company?.clinic_sms_no_gateway_count || 0,
            });
        } catch {
            this.clinicSmsGateway.missing = false;
        }
    },
});
