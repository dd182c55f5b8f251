import { registry } from "@web/core/registry";

/**
 * An administrator reads the credits ledger as a pivot table, then buys a pack of credits.
 * Started by clinic_sms/tests/test_tours.py, which seeds the ledger and checks the purchase.
 */
registry.category("web_tour.tours").add("clinic_sms_credits_tour", {
    steps: () => [
        {
            content: "The ledger lists the credits received",
            trigger: ".o_list_view .o_data_row:contains(Tour pack)",
        },
        {
            content: "Switch to the pivot view",
            trigger: "button.o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot has a column per kind of credit line",
            trigger: ".o_pivot table thead th:contains(Purchase)",
        },
        {
            content: "…and sums the ledger: 250 credits in all",
            trigger: ".o_pivot table tbody tr:first td:contains(250.00)",
        },
        {
            content: "Back to the list",
            trigger: "button.o_switch_view.o_list",
            run: "click",
        },
        {
            content: "Buy credits",
            trigger: ".o_control_panel button:contains(Buy credits)",
            run: "click",
        },
        {
            content: "Choose the pack of 500 credits",
            trigger: ".modal div[name=pack] input[data-value='500']",
            run: "click",
        },
        {
            content: "Note the invoice",
            trigger: ".modal div[name=note] input",
            run: "edit Tour invoice 42",
        },
        {
            content: "Add the credits",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        {
            content: "Odoo confirms the purchase",
            trigger: ".o_notification:contains(500 credits were added)",
        },
    ],
});
