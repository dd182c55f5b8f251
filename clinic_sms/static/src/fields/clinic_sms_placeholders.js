import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";
import { Component, useExternalListener, useRef } from "@odoo/owl";

/**
 * The placeholder catalogue of the template form (an HTML field computed on the server): a click
 * on a placeholder inserts it into the text field ``target`` (default ``body``) at the cursor, or
 * in place of the selected text. When the text cannot be edited (no right to, archived, ...)
 * nothing happens: the catalogue stays a table to read.
 */
export class ClinicSmsPlaceholders extends Component {
    static template = "clinic_sms.PlaceholdersField";
    static props = {
        ...standardFieldProps,
        target: { type: String, optional: true },
    };
    static defaultProps = { target: "body" };

    setup() {
        this.rootRef = useRef("root");
        // A text never clicked into has its cursor at the start: then the placeholder goes at the end.
        this.lastFocused = null;
        useExternalListener(document, "focusin", (ev) => {
            if (ev.target.tagName === "TEXTAREA") {
                this.lastFocused = ev.target;
            }
        });
    }

    get textarea() {
        const form = this.rootRef.el?.closest(".o_form_renderer, .o_form_view, .modal-content");
        return form?.querySelector(`div[name='${this.props.target}'] textarea:not([readonly])`) || null;
    }

    get hint() {
        return _t("Click to insert it into the text at the cursor");
    }

    onClick(ev) {
        const code = ev.target.closest("code");
        const textarea = this.textarea;
        if (!code || !textarea) {
            return;
        }
        const placeholder = code.textContent.trim();
        const text = textarea.value;
        const used = this.lastFocused === textarea;
        const start = used ? textarea.selectionStart : text.length;
        const end = used ? textarea.selectionEnd : text.length;
        const value = text.slice(0, start) + placeholder + text.slice(end);
        textarea.value = value;
        this.props.record.update({ [this.props.target]: value });
        const cursor = start + placeholder.length;
        textarea.focus();
        textarea.setSelectionRange(cursor, cursor);
    }
}

export const clinicSmsPlaceholders = {
    component: ClinicSmsPlaceholders,
    displayName: _t("SMS placeholder catalogue"),
    supportedTypes: ["html"],
    extractProps: ({ options }) => ({ target: options.target }),
};

registry.category("fields").add("clinic_sms_placeholders", clinicSmsPlaceholders);
