import { registry } from "@web/core/registry";

// 69 characters of GSM-7: one SMS part of 160.
const PLAIN = "Reminder: your appointment is tomorrow at 10:00. Call us to change it";

/** Types the text into the template's body, then leaves the field so that the form counts it. */
function typeBody(text) {
    return async (helpers) => {
        await helpers.edit(text, ".o_form_view div[name=body] textarea");
        await helpers.click(".o_form_view .o_horizontal_separator:contains(Placeholders)");
    };
}

function counter(characters, parts, encoding) {
    return (
        `.o_form_view:has(.o_field_widget[name=body_units]:contains(${characters}))` +
        `:has(.o_field_widget[name=body_parts]:contains(${parts}))` +
        `:has(.o_field_widget[name=body_encoding]:contains(${encoding}))`
    );
}

/**
 * An administrator writes a template: the counter under the text says GSM-7 for plain text, and
 * Unicode with SMS parts of 70 characters as soon as a Polish "ą" is typed. A click on a placeholder
 * of the catalogue inserts it at the cursor.
 * Started by clinic_sms/tests/test_tours.py, which checks the saved template.
 */
registry.category("web_tour.tours").add("clinic_sms_template_counter_tour", {
    steps: () => [
        {
            content: "New template",
            trigger: ".o_control_panel .o_list_button_add",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_form_view div[name=name] input",
            run: "edit Tour Polish reminder",
        },
        {
            content: "Type a plain text of 69 characters",
            trigger: ".o_form_view div[name=body] textarea",
            run: typeBody(PLAIN),
        },
        {
            content: "Counted as GSM-7: 69 characters, one SMS part",
            trigger: counter(69, 1, "GSM-7"),
        },
        {
            content: "Type a Polish ą",
            trigger: ".o_form_view div[name=body] textarea",
            run: typeBody(PLAIN + "ą"),
        },
        {
            content: "The whole text switches to Unicode: 70 characters still fit in one SMS part",
            trigger: counter(70, 1, "Unicode"),
        },
        {
            content: "One more letter",
            trigger: ".o_form_view div[name=body] textarea",
            run: typeBody(PLAIN + "ąę"),
        },
        {
            content: "71 Unicode characters need two SMS parts",
            trigger: counter(71, 2, "Unicode"),
        },
        {
            content: "Click {clinic} in the catalogue of placeholders",
            trigger: ".o_form_view .o_clinic_sms_placeholder_catalogue code:contains({clinic})",
            run: "click",
        },
        {
            content: "It is inserted at the cursor, at the end of the text",
            trigger: ".o_form_view div[name=body] textarea",
            run() {
                const expected = PLAIN + "ąę{clinic}";
                if (this.anchor.value !== expected) {
                    throw new Error(`The text is "${this.anchor.value}", not "${expected}"`);
                }
            },
        },
        {
            content: "Save the template",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_view .o_form_saved",
        },
    ],
});
