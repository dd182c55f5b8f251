import { user } from "@web/core/user";
import { registry } from "@web/core/registry";
import { formatFloat } from "@web/core/utils/numbers";
import { ListController } from "@web/views/list/list_controller";
import { listView } from "@web/views/list/list_view";
import { onWillStart, useState } from "@odoo/owl";

/**
 * The SMS log list with a warning above it when the current company's SMS credits are low.
 * The banner is informative only: when the company cannot be read, nothing is shown.
 */
export class ClinicSmsLogListController extends ListController {
    static template = "clinic_sms.LogListView";

    setup() {
        super.setup();
        this.creditState = useState({ low: false, balance: 0, check: false, canBuy: false });
        onWillStart(() => {
            // Not awaited: the list never waits for the banner.
            this.loadCreditState();
        });
    }

    async loadCreditState() {
        try {
            const companyId = user.activeCompany?.id;
            if (!companyId) {
                return;
            }
            const [[company], canBuy] = await Promise.all([
                this.orm.read(
                    "res.company",
                    [companyId],
                    ["clinic_sms_credit_low", "clinic_sms_credit_balance", "clinic_sms_credit_check"],
                    { context: { active_test: false } }
                ),
                user.hasGroup("clinic_sms.group_clinic_sms_manager"),
            ]);
            Object.assign(this.creditState, {
                low: Boolean(company?.clinic_sms_credit_low),
                balance: company?.clinic_sms_credit_balance || 0,
                check: Boolean(company?.clinic_sms_credit_check),
                canBuy,
            });
        } catch {
            this.creditState.low = false;
        }
    }

    get creditBalanceText() {
        return formatFloat(this.creditState.balance || 0, { digits: [16, 2], trailingZeros: false });
    }

    async onClickBuyCredits() {
        await this.actionService.doAction("clinic_sms.clinic_sms_credit_purchase_action", {
            onClose: () => this.loadCreditState(),
        });
    }
}

export const clinicSmsLogListView = {
    ...listView,
    Controller: ClinicSmsLogListController,
};

registry.category("views").add("clinic_sms_log_list", clinicSmsLogListView);
