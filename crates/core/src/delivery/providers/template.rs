//! E-mail and message templates: filling `{name}` placeholders, escaping, the built-in
//! templates by language, and rendering an e-mail.

use std::collections::BTreeMap;

use super::{EmailConfig, EmailPayload, EmailTemplate};

// ---- templates -------------------------------------------------------------------------

/// Fill `{{name}}` placeholders from `values`; unknown names stay as they are.
pub fn fill(template: &str, values: &BTreeMap<&str, String>, escape: fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.get(name) {
                    Some(v) => out.push_str(&escape(v)),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text as it is.
pub fn no_escape(s: &str) -> String {
    s.to_owned()
}

/// Text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn builtin_template(name: &str, lang: &str) -> Option<EmailTemplate> {
    let t = |s: &str, x: &str, h: &str| Some(EmailTemplate { subject: s.into(), text: x.into(), html: h.into() });
    match (name, lang) {
        ("test", "en") => t(
            "countersign test message",
            "This is a test message from countersign for {{domain}}. E-mail delivery works.",
            "<p>This is a test message from countersign for <b>{{domain}}</b>. E-mail delivery works.</p>",
        ),
        ("test", "de") => t(
            "countersign Testnachricht",
            "Dies ist eine Testnachricht von countersign für {{domain}}. Der E-Mail-Versand funktioniert.",
            "<p>Dies ist eine Testnachricht von countersign für <b>{{domain}}</b>. \
             Der E-Mail-Versand funktioniert.</p>",
        ),
        ("otp", "en") => t(
            "Your verification code",
            "Your verification code is {{code}}. It is valid for {{minutes}} minutes. Do not share it.",
            "<p>Your verification code is <b>{{code}}</b>.</p><p>It is valid for {{minutes}} minutes. \
             Do not share it.</p>",
        ),
        ("otp", "de") => t(
            "Ihr Bestätigungscode",
            "Ihr Bestätigungscode lautet {{code}}. Er ist {{minutes}} Minuten gültig. Geben Sie ihn nicht weiter.",
            "<p>Ihr Bestätigungscode lautet <b>{{code}}</b>.</p><p>Er ist {{minutes}} Minuten gültig. \
             Geben Sie ihn nicht weiter.</p>",
        ),
        _ => None,
    }
}

/// The template `name` for `language`: the exact tag, its primary subtag, then `en`; the
/// tenant's own before the built-in ones.
pub fn template(email: Option<&EmailConfig>, name: &str, language: &str) -> Option<EmailTemplate> {
    let primary = language.split(['-', '_']).next().unwrap_or(language);
    let mut tried = Vec::new();
    for lang in [language, primary, "en"] {
        if tried.contains(&lang) {
            continue;
        }
        tried.push(lang);
        if let Some(t) = email.and_then(|e| e.templates.get(name)).and_then(|m| m.get(lang)) {
            return Some(t.clone());
        }
        if let Some(t) = builtin_template(name, lang) {
            return Some(t);
        }
    }
    None
}

/// Render a template into an e-mail payload.
pub fn render_email(to: &str, t: &EmailTemplate, values: &BTreeMap<&str, String>) -> EmailPayload {
    EmailPayload {
        to: to.to_owned(),
        subject: fill(&t.subject, values, no_escape).replace(['\r', '\n'], " "),
        text: fill(&t.text, values, no_escape),
        html: fill(&t.html, values, html_escape),
    }
}
