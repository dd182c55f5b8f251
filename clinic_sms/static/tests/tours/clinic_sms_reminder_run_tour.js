import { registry } from "@web/core/registry";

/**
 * A receptionist runs Calendar > SMS > Send reminders now for tomorrow: the preview shows the
 * patient's reminder (the planned one, brought forward) and who is left out and why; sending
 * queues it. Started by clinic_sms/tests/test_tours.py, which checks the reminder.
 */
registry.category("web_tour.tours").add("clinic_sms_reminder_run_tour", {
    steps: () => [
        {
            content: "Open Calendar > SMS",
            trigger: ".o_main_navbar [data-menu-xmlid='clinic_sms.clinic_sms_menu_root']",
            run: "click",
        },
        {
            content: "Send reminders now",
            trigger: ".dropdown-item[data-menu-xmlid='clinic_sms.clinic_sms_reminder_run_menu']",
            run: "click",
        },
        {
            content: "Tomorrow's appointments (the default range)",
            trigger: ".modal div[name=date_from]",
        },
        {
            content: "Preview",
            trigger: ".modal footer button[name=action_preview]",
            run: "click",
        },
        {
            content: "The patient's reminder, with its text, is brought forward",
            trigger:
                ".modal div[name=line_ids] .o_data_row:contains(Tourpatient Anna):contains(Tour root canal):has(td[name=brings_forward] input:checked)",
        },
        {
            content: "The patient without a number is left out, with the reason",
            trigger: ".modal div[name=line_ids] .o_data_row:contains(Tourpatient Bo):contains(No SMS number)",
        },
        {
            content: "One reminder will be sent, one patient is left out",
            trigger:
                ".modal:has(div[name=selected_count]:contains(1)):has(div[name=excluded_count]:contains(1))",
        },
        {
            content: "The credits these reminders need are shown against the balance",
            trigger: ".modal:has(div[name=credits_needed]:contains(2.00)):has(div[name=credits_after]:contains(-2.00))",
        },
        {
            content: "Send the selected",
            trigger: ".modal footer button[name=action_send]",
            run: "click",
        },
        {
            content: "The reminders are queued",
            trigger: ".o_notification:contains(1 reminders queued)",
        },
    ],
});
