import { registry } from "@web/core/registry";

/**
 * A receptionist searches the contacts, selects the result, and sends it a clinic SMS from a
 * template: the preview shows the first text, the "Left out" tab the contact without a number,
 * and sending opens the log of what was sent. Started by clinic_sms/tests/test_tours.py.
 */
registry.category("web_tour.tours").add("clinic_sms_composer_tour", {
    steps: () => [
        {
            content: "Show the contacts as a list",
            trigger: "button.o_switch_view.o_list",
            run: "click",
        },
        {
            content: "The list is loaded",
            trigger: ".o_list_view .o_data_row:contains(Rikke Reception)",
        },
        {
            content: "Search the contacts",
            trigger: ".o_control_panel .o_searchview_input",
            run: "edit Tourpatient",
        },
        {
            content: "…by name",
            trigger: ".o_searchview_autocomplete .o-dropdown-item:contains(Name):contains(Tourpatient)",
            run: "click",
        },
        {
            content: "The search finds both patients, and only them",
            trigger:
                ".o_list_view:not(:has(.o_data_row:contains(Rikke Reception))) .o_data_row:contains(Tourpatient Anna) ~ .o_data_row:contains(Tourpatient Bo)",
        },
        {
            content: "Select the whole result",
            trigger: ".o_list_view thead .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Open the Actions menu of the two selected contacts",
            trigger: ".o_selection_container:has(.o_selection_box:contains(2 selected)) .o_cp_action_menus button:contains(Actions)",
            run: "click",
        },
        {
            content: "Send clinic SMS",
            trigger: ".o-dropdown--menu .dropdown-item:contains(Send clinic SMS)",
            run: "click",
        },
        {
            content: "Choose a template",
            trigger: ".modal div[name=template_id] input",
            run: "edit Tour closing day",
        },
        {
            content: "Pick it",
            trigger: ".o-autocomplete--dropdown-item .dropdown-item:contains(Tour closing day)",
            run: "click",
        },
        {
            content: "The preview shows the first patient's text",
            trigger: ".modal div[name=preview_body]:contains(Hi Tourpatient, the clinic is closed on Friday)",
        },
        {
            content: "One patient gets it",
            trigger: ".modal div[name=recipient_count]:contains(1)",
        },
        {
            content: "Open the Left out tab",
            trigger: ".modal .o_notebook a[name=excluded]",
            run: "click",
        },
        {
            content: "The patient without a number is left out, with the reason",
            trigger: ".modal div[name=excluded_html]:contains(Tourpatient Bo)",
        },
        {
            content: "Send",
            trigger: ".modal footer button[name=action_send]:contains(Send)",
            run: "click",
        },
        {
            content: "The log shows what was sent and who was left out",
            trigger:
                ".o_list_view .o_data_row:contains(Tourpatient Bo):contains(Skipped) ~ .o_data_row:contains(Tourpatient Anna):contains(Delivered), .o_list_view .o_data_row:contains(Tourpatient Anna):contains(Delivered) ~ .o_data_row:contains(Tourpatient Bo):contains(Skipped)",
        },
    ],
});
