import { registry } from "@web/core/registry";

/** The SMS log says that nothing is being sent, and leads to the setup checklist in Settings. */
registry.category("web_tour.tours").add("clinic_sms_no_gateway_log", {
    steps: () => [
        {
            content: "The log says that no gateway is set up and counts what waits",
            trigger:
                ".o_clinic_sms_no_gateway_banner:contains(No SMS gateway is set up: nothing is being sent.):contains(2 messages are waiting for one)",
        },
        {
            content: "It leads to the setup checklist",
            trigger: ".o_clinic_sms_no_gateway_banner button:contains(Set up a gateway)",
            run: "click",
        },
        {
            content: "Settings say so too, above the checklist",
            trigger: ".o_clinic_sms_setup .o_clinic_sms_no_gateway_banner:contains(nothing is being sent)",
        },
        {
            content: "The gateway step is not done",
            trigger: "li[name=clinic_sms_setup_gateway] .fa-circle-o",
        },
    ],
});

/** The calendar says that nothing is being sent. */
registry.category("web_tour.tours").add("clinic_sms_no_gateway_calendar", {
    steps: () => [
        {
            content: "The calendar says that no gateway is set up",
            trigger: ".o_clinic_sms_calendar_banner:contains(No SMS gateway is set up: nothing is being sent.)",
        },
    ],
});

/** With the test gateway, the log says that its messages are simulated and marks them. */
registry.category("web_tour.tours").add("clinic_sms_simulated_log", {
    steps: () => [
        {
            content: "The log says that the test gateway's messages are simulated",
            trigger: ".o_clinic_sms_simulated_banner:contains(The test gateway is in use)",
        },
        {
            content: "The setup is not complete: the banner links to the checklist",
            trigger: ".o_clinic_sms_setup_banner:contains(steps done)",
        },
        {
            content: "A delivered message is marked simulated in its row",
            trigger: ".o_data_row:has(.o_field_badge:contains(Delivered)) td[name=simulated] input:checked",
        },
    ],
});
