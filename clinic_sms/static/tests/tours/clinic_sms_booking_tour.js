import { registry } from "@web/core/registry";

/** Tomorrow at 10:00 in the browser's time zone, as the calendar's date field reads it (en_US). */
function tomorrowAtTen() {
    return luxon.DateTime.now().plus({ days: 1 }).set({ hour: 10, minute: 0, second: 0 });
}

/**
 * A receptionist books an appointment for a patient in Calendar, finds its SMS reminder planned
 * on the appointment's SMS tab, then sees the reminder's state on the appointment in the calendar.
 * Started by clinic_sms/tests/test_tours.py, which checks the planned message.
 */
registry.category("web_tour.tours").add("clinic_sms_booking_tour", {
    steps: () => [
        {
            content: "The calendar is open",
            trigger: ".o_calendar_view",
        },
        {
            content: "Book a new appointment",
            trigger: ".o-calendar-button-new",
            run: "click",
        },
        {
            content: "Name the appointment",
            trigger: ".o_form_view div[name=name] input",
            run: "edit Tour check-up",
        },
        {
            content: "Open the date picker",
            trigger: ".o_form_view div[name=start] button",
            run: "click",
        },
        {
            content: "Tomorrow at 10:00",
            trigger: ".o_form_view div[name=start] input:first",
            run: `edit ${tomorrowAtTen().toFormat("MM/dd/yyyy HH:mm:ss")}`,
        },
        {
            content: "One hour",
            trigger: ".o_form_view div[name=duration] input",
            run: "edit 01:00",
        },
        {
            content: "Add the patient as attendee",
            trigger: ".o_form_view div[name=partner_ids] input",
            run: "edit Tourpatient Anna",
        },
        {
            content: "Pick the patient",
            trigger: ".o-autocomplete--dropdown-item .dropdown-item:contains(Tourpatient Anna)",
            run: "click",
        },
        {
            content: "The patient is an attendee",
            trigger: ".o_form_view div[name=partner_ids]:contains(Tourpatient Anna)",
        },
        {
            content: "SMS to patients is on",
            trigger: ".o_form_view div[name=sms_enabled] input:checked",
        },
        {
            content: "Save the appointment",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_view .o_form_saved",
        },
        {
            content: "Open the SMS tab",
            trigger: ".o_notebook a[name=clinic_sms]",
            run: "click",
        },
        {
            content: "The patient's reminder is planned",
            trigger:
                ".o_form_view div[name=clinic_sms_message_ids] .o_data_row:contains(Tourpatient Anna):contains(Reminder):contains(Scheduled)",
        },
        {
            content: "Back to the calendar",
            trigger: ".o_back_button",
            run: "click",
        },
        {
            content: "Show one day",
            trigger: ".o_calendar_view .scale_button_selection",
            run: "click",
        },
        {
            content: "Day",
            trigger: ".dropdown-item:contains(Day)",
            run: "click",
        },
        {
            content: "The next day",
            trigger: ".o_calendar_view .o_calendar_button_next",
            run: "click",
        },
        {
            content: "Open the appointment: the calendar shows its SMS reminder as planned",
            trigger: ".o_calendar_view .fc-event:contains(Tour check-up)",
            async run({ click, waitFor }) {
                // The calendar may reload right after the click (e.g. on a bus notification),
                // which closes the popover: click again until it stays open.
                const planned =
                    ".o_cw_popover .o_field_widget[name=clinic_sms_reminder_state]:contains(Planned)";
                for (let attempt = 1; ; attempt++) {
                    await click(".o_calendar_view .fc-event:contains(Tour check-up)");
                    try {
                        await waitFor(planned, { timeout: 3000 });
                        return;
                    } catch (error) {
                        if (attempt === 4) {
                            throw error;
                        }
                    }
                }
            },
        },
    ],
});
