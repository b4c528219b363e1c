//! What a voice call says: the text for the user's language (the type's or a built-in
//! one), the voice that reads it, and the outbox payload. A leaf that [`super::super::code`]
//! uses to place the call.

use crate::delivery::providers::VoicePayload;
use crate::otp::AuthType;

/// The built-in spoken texts by language. `{code}` is the code, digits spaced.
const TEXTS: [(&str, &str); 5] = [
    ("en", "Your {domain} verification code is: {code}. Again, your code is: {code}."),
    ("de", "Ihr Bestätigungscode für {domain} lautet: {code}. Noch einmal, Ihr Code lautet: {code}."),
    ("fr", "Votre code de vérification pour {domain} est : {code}. Je répète, votre code est : {code}."),
    ("nl", "Uw verificatiecode voor {domain} is: {code}. Nogmaals, uw code is: {code}."),
    ("es", "Su código de verificación para {domain} es: {code}. Repito, su código es: {code}."),
];

/// The voice a language is read in when the text's language names no region.
const VOICES: [(&str, &str); 14] = [
    ("da", "da-DK"),
    ("de", "de-DE"),
    ("en", "en-US"),
    ("es", "es-ES"),
    ("fi", "fi-FI"),
    ("fr", "fr-FR"),
    ("it", "it-IT"),
    ("ja", "ja-JP"),
    ("nb", "nb-NO"),
    ("nl", "nl-NL"),
    ("pl", "pl-PL"),
    ("pt", "pt-BR"),
    ("sv", "sv-SE"),
    ("zh", "zh-CN"),
];

/// `123456` → `1 2 3 4 5 6`: each digit read on its own.
pub(crate) fn spaced(code: &str) -> String {
    let mut out = String::with_capacity(code.len() * 2);
    for (i, c) in code.chars().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The language tag a voice reads `lang` in: a tag with a region as it is, else the
/// language's usual voice, else the tag itself.
fn voice_of(lang: &str) -> String {
    if lang.contains('-') {
        return lang.to_owned();
    }
    VOICES.iter().find(|(l, _)| *l == lang).map_or_else(|| lang.to_owned(), |(_, v)| (*v).to_owned())
}

/// What the call says for `code` in `language`, and the language it says it in: the
/// type's text for the exact tag, its primary subtag or English, else the built-in text
/// likewise — the first that exists, so that the voice always matches the text. A text
/// without `{code}` is not used alone: the call then says the code only, like an SMS.
pub(crate) fn spoken(ty: &AuthType, code: &str, language: &str, domain: &str) -> (String, String) {
    let primary = language.split('-').next().unwrap_or(language);
    let mut found = None;
    for lang in [language, primary, "en"] {
        if let Some(t) = ty.messages.get(lang) {
            found = Some((t.as_str(), lang));
            break;
        }
    }
    if found.is_none() {
        for lang in [language, primary, "en"] {
            if let Some((_, t)) = TEXTS.iter().find(|(l, _)| *l == lang) {
                found = Some((t, lang));
                break;
            }
        }
    }
    let (template, lang) = found.unwrap_or((TEXTS[0].1, "en"));
    let digits = spaced(code);
    let text = if template.contains("{code}") {
        template
            .replace("{minutes}", &ty.ttl_seconds.div_ceil(60).to_string())
            .replace("{domain}", domain)
            .replace("{code}", &digits)
    } else {
        digits
    };
    (text, voice_of(lang))
}

/// The outbox payload of a call reading `code` to `to`.
pub(crate) fn payload(ty: &AuthType, to: &str, code: &str, language: &str, domain: &str) -> VoicePayload {
    let (text, language) = spoken(ty, code, language, domain);
    VoicePayload { to: to.to_owned(), text, language }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn codes_are_read_digit_by_digit_in_the_users_language() {
        let mut ty = AuthType::builtin("voice").unwrap();
        let (text, lang) = spoken(&ty, "123456", "de-CH", "bank.example");
        assert_eq!(lang, "de-DE");
        assert_eq!(
            text,
            "Ihr Bestätigungscode für bank.example lautet: 1 2 3 4 5 6. Noch einmal, Ihr Code lautet: 1 2 3 4 5 6."
        );
        // A language without a text: English, read by an English voice.
        assert_eq!(spoken(&ty, "42", "tlh", "x").1, "en-US");
        // The type's own texts first; a region the text names is kept.
        ty.messages.insert("de-CH".into(), "Code {code}, gültig {minutes} Minuten".into());
        assert_eq!(spoken(&ty, "4711", "de-CH", "x"), ("Code 4 7 1 1, gültig 5 Minuten".into(), "de-CH".into()));
        ty.messages.insert("fr".into(), "pas de code".into());
        assert_eq!(spoken(&ty, "4711", "fr", "x"), ("4 7 1 1".into(), "fr-FR".into()));
        assert_eq!(spaced(""), "");
    }
}
