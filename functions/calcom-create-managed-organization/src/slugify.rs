//! Cal.com's own `slugify` (`packages/lib/slugify.ts`), step by step as its regular expressions run:
//!
//! ```js
//! str.toLowerCase().trim().normalize("NFD")
//!   .replace(/\p{Diacritic}/gu, "")
//!   .replace(/[^.\p{L}\p{N}\p{Zs}\p{Emoji}]+/gu, "-")
//!   .replace(/[\s_#]+/g, "-")
//!   .replace(/^-+/, "").replace(/\.{2,}/g, ".").replace(/^\.+/, "")
//!   .replace(/-+$/, "").replace(/\.*$/, "")
//! ```
//!
//! Letters, numbers and spaces are Rust's Unicode properties; `\p{Diacritic}` and `\p{Emoji}` are the
//! blocks that matter for names (combining diacritics and spacing accents; `#`, `*`, digits, ©, ®, and the
//! pictograph blocks), not the full Unicode tables.

use unicode_normalization::UnicodeNormalization;

/// JavaScript's `\s` (and what `trim` removes): its WhiteSpace and LineTerminator.
fn is_js_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{feff}' | '\u{2028}' | '\u{2029}') || is_zs(c)
}

/// Unicode's space separators (`\p{Zs}`).
fn is_zs(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}

fn is_diacritic(c: char) -> bool {
    matches!(c,
        '^' | '`' | '\u{a8}' | '\u{af}' | '\u{b4}' | '\u{b7}' | '\u{b8}'
        | '\u{2b0}'..='\u{34e}' | '\u{350}'..='\u{36f}'
        | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}')
}

fn is_emoji(c: char) -> bool {
    matches!(c,
        '#' | '*' | '0'..='9' | '\u{a9}' | '\u{ae}' | '\u{203c}' | '\u{2049}' | '\u{2122}' | '\u{2139}'
        | '\u{2194}'..='\u{21aa}' | '\u{231a}'..='\u{23ff}' | '\u{24c2}' | '\u{25aa}'..='\u{27bf}'
        | '\u{2934}' | '\u{2935}' | '\u{2b05}'..='\u{2b55}' | '\u{3030}' | '\u{303d}' | '\u{3297}' | '\u{3299}'
        | '\u{1f000}'..='\u{1faff}')
}

/// Cal.com's slug of `name`; may be empty (the caller picks the fallback).
pub fn slugify(name: &str) -> String {
    let lowered = name.to_lowercase();
    let trimmed = lowered.trim_matches(is_js_space);
    // NFD, diacritics removed, then every run of characters outside `.`, letters, numbers, spaces and
    // emoji becomes one `-`.
    let mut kept = String::with_capacity(trimmed.len());
    let mut in_run = false;
    for c in trimmed.nfd().filter(|c| !is_diacritic(*c)) {
        if c == '.' || c.is_alphabetic() || c.is_numeric() || is_zs(c) || is_emoji(c) {
            kept.push(c);
            in_run = false;
        } else if !in_run {
            kept.push('-');
            in_run = true;
        }
    }
    // Runs of white space, `_` and `#` become one `-` (existing dashes are not merged).
    let mut dashed = String::with_capacity(kept.len());
    let mut in_run = false;
    for c in kept.chars() {
        if is_js_space(c) || c == '_' || c == '#' {
            if !in_run {
                dashed.push('-');
            }
            in_run = true;
        } else {
            dashed.push(c);
            in_run = false;
        }
    }
    let mut periods = String::with_capacity(dashed.len());
    for c in dashed.trim_start_matches('-').chars() {
        if !(c == '.' && periods.ends_with('.')) {
            periods.push(c);
        }
    }
    periods.trim_start_matches('.').trim_end_matches('-').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn as_cal_com_slugifies() {
        assert_eq!(slugify("Café Über Team!"), "cafe-uber-team");
        assert_eq!(slugify("Acme Inc. 2024"), "acme-inc.-2024");
        assert_eq!(slugify("日本"), "日本");
        assert_eq!(slugify("  Hello   World  "), "hello-world");
        // Existing dashes are kept as they are; only runs of spaces, `_` and `#` merge.
        assert_eq!(slugify("a - b"), "a---b");
        assert_eq!(slugify("a__b##c"), "a-b-c");
        assert_eq!(slugify("...a..b..."), "a.b");
        assert_eq!(slugify("a^b`c"), "abc");
        assert_eq!(slugify("Rock 🎸 Band"), "rock-🎸-band");
        assert_eq!(slugify("a*b"), "a*b");
        assert_eq!(slugify("-.-x-.-"), "-x-");
        assert_eq!(slugify("!!!"), "");
        assert_eq!(slugify(""), "");
    }
}
