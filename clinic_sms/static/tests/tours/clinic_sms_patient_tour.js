import { registry } from "@web/core/registry";

/** The first day of the month six months from now, as the contact form's date field reads it (en_US). */
function recallDate() {
    return luxon.DateTime.now().plus({ months: 6 }).startOf("month");
}

/**
 * A receptionist records on a patient's contact form that the patient consented to SMS, and when
 * the next check-up recall is due and how often: the consent gets its date and user.
 * Started by clinic_sms/tests/test_tours.py, which checks the saved contact.
 */
registry.category("web_tour.tours").add("clinic_sms_patient_recall_consent_tour", {
    steps: () => [
        {
            content: "The patient's contact form is open",
            trigger: ".o_form_view div[name=sms_consent] input:not(:checked)",
        },
        {
            content: "The patient consents to SMS",
            trigger: ".o_form_view div[name=sms_consent] input",
            run: "click",
        },
        {
            content: "The next recall",
            trigger: ".o_form_view div[name=recall_date] input",
            run: `edit ${recallDate().toFormat("MM/dd/yyyy")}`,
        },
        {
            content: "Every 6 months",
            trigger: ".o_form_view div[name=recall_interval] input",
            run: "edit 6",
        },
        {
            content: "Save the contact",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Saved: the consent shows who set it",
            trigger: ".o_form_view div[name=sms_consent_user_id]:contains(Rikke Reception)",
        },
    ],
});

/**
 * An administrator opens the 24-hour reminder rule and switches on the e-mail for patients without
 * a valid mobile number and one reminder per patient per day.
 * Started by clinic_sms/tests/test_tours.py, which checks the saved rule.
 */
registry.category("web_tour.tours").add("clinic_sms_rule_options_tour", {
    steps: () => [
        {
            content: "The rule's form is open",
            trigger: ".o_form_view div[name=email_fallback] input:not(:checked)",
        },
        {
            content: "E-mail when no valid SMS number",
            trigger: ".o_form_view div[name=email_fallback] input",
            run: "click",
        },
        {
            content: "One reminder per patient per day",
            trigger: ".o_form_view div[name=one_per_day] input",
            run: "click",
        },
        {
            content: "Save the rule",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_view .o_form_saved",
        },
    ],
});
