import { user } from "@web/core/user";
import { registry } from "@web/core/registry";
import { formatFloat } from "@web/core/utils/numbers";
import { ListController } from "@web/views/list/list_controller";
import { listView } from "@web/views/list/list_view";
import { onWillStart, useState } from "@odoo/owl";

/**
 * The SMS log list with banners above it: no SMS gateway (nothing is being sent), the test gateway
 * in use (messages are simulated), the setup checklist not complete (a link to it), and the
 * current company's SMS credits low. The banners are informative only: when the company cannot be
 * read, nothing is shown.
 */
export class ClinicSmsLogListController extends ListController {
    static template = "clinic_sms.LogListView";

    setup() {
        super.setup();
        this.creditState = useState({ low: false, balance: 0, check: false, canBuy: false });
        this.setupState = useState({
            noGateway: false,
            waiting: 0,
            simulated: false,
            setupDone: true,
            stepsDone: 0,
            stepsTotal: 0,
            isManager: false,
        });
        onWillStart(() => {
            // Not awaited: the list never waits for the banners.
            this.loadCreditState();
            this.loadSetupState();
        });
    }

    async loadSetupState() {
        try {
            const companyId = user.activeCompany?.id;
            if (!companyId) {
                return;
            }
            // The checklist is in Settings: Clinic SMS administrators who are system administrators.
            const [[company], isManager, isSystem] = await Promise.all([
                this.orm.read("res.company", [companyId], [
                    "clinic_sms_no_gateway",
                    "clinic_sms_no_gateway_count",
                    "clinic_sms_simulated",
                    "clinic_sms_setup_done",
                    "clinic_sms_setup_steps_done",
                    "clinic_sms_setup_steps_total",
                ]),
                user.hasGroup("clinic_sms.group_clinic_sms_manager"),
                user.hasGroup("base.group_system"),
            ]);
            Object.assign(this.setupState, {
                noGateway: Boolean(company?.clinic_sms_no_gateway),
                waiting: company?.clinic_sms_no_gateway_count || 0,
                simulated: Boolean(company?.clinic_sms_simulated),
                setupDone: company ? Boolean(company.clinic_sms_setup_done) : true,
                stepsDone: company?.clinic_sms_setup_steps_done || 0,
                stepsTotal: company?.clinic_sms_setup_steps_total || 0,
                isManager: isManager && isSystem,
            });
        } catch {
            Object.assign(this.setupState, { noGateway: false, simulated: false, setupDone: true });
        }
    }

    async onClickSetupChecklist() {
        await this.actionService.doAction("clinic_sms.clinic_sms_settings_action");
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
