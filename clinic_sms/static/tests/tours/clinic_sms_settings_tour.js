import { registry } from "@web/core/registry";

/**
 * An administrator sets the sending window and the default gateway in Settings (Clinic SMS),
 * then opens that gateway and sends a test SMS to their own number.
 * Started by clinic_sms/tests/test_tours.py, which checks the settings and the SMS handed over.
 */
registry.category("web_tour.tours").add("clinic_sms_settings_tour", {
    steps: () => [
        {
            content: "The Clinic SMS settings are open",
            trigger: ".app_settings_block[data-key=clinic_sms] #clinic_sms_window_setting",
        },
        {
            content: "The window opens at 07:30",
            trigger: "#clinic_sms_window_setting div[name=clinic_sms_window_start] input",
            run: "edit 07:30",
        },
        {
            content: "…and closes at 19:00",
            trigger: "#clinic_sms_window_setting div[name=clinic_sms_window_end] input",
            run: "edit 19:00",
        },
        {
            content: "Choose the default gateway",
            trigger: "#clinic_sms_gateway_setting div[name=clinic_sms_gateway_id] input",
            run: "edit Tour gateway",
        },
        {
            content: "Pick it",
            trigger: ".o-autocomplete--dropdown-item .dropdown-item:contains(Tour gateway)",
            run: "click",
        },
        {
            content: "Save the settings (the web client reloads)",
            trigger: ".o_control_panel .o_form_button_save",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Saved: the settings show the new window",
            trigger:
                ".o-settings-form-view:not(:has(.o_dirty_warning)) #clinic_sms_window_setting div[name=clinic_sms_window_start] input:value(07:30)",
        },
        {
            content: "Manage the gateways",
            trigger: "#clinic_sms_gateway_setting button:contains(Manage gateways)",
            run: "click",
        },
        {
            content: "Open the new default gateway",
            trigger: ".o_list_view .o_data_row td[name=name]:contains(Tour gateway)",
            run: "click",
        },
        {
            content: "Send a test SMS to my own number",
            trigger: ".o_form_view .o_form_statusbar button[name=action_send_test]",
            run: "click",
        },
        {
            content: "The gateway's answer, in plain words",
            trigger: ".o_notification:contains(no SMS went to)",
        },
    ],
});
