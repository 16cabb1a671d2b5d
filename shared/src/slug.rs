//! Slugs: derived from names, and the kebab-case rule explicit slugs must follow.

use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

/// Unicode NFD, combining marks stripped, lowercased, every run of characters outside `[a-z0-9]`
/// replaced by one `-`, and `-` trimmed from both ends: "Café Über Team!" → "cafe-uber-team".
/// May return an empty string (a name of symbols only); callers choose the fallback.
pub fn slugify(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_dash = false;
    for c in name.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c);
        } else {
            pending_dash = true;
        }
    }
    out
}

/// `^[a-z0-9]+(-[a-z0-9]+)*$`
pub fn is_kebab_case(slug: &str) -> bool {
    !slug.is_empty()
        && slug.split('-').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_follows_the_rules() {
        assert_eq!(slugify("Café Über Team!"), "cafe-uber-team");
        assert_eq!(slugify("  --Hello   World--  "), "hello-world");
        assert_eq!(slugify("ACME Inc. 2024"), "acme-inc-2024");
        assert_eq!(slugify("Ærø"), "r"); // Æ and ø have no decomposition: they are not [a-z0-9]
        assert_eq!(slugify("!!!"), "");
        assert_eq!(slugify("日本"), "");
    }

    #[test]
    fn kebab_case() {
        assert!(is_kebab_case("acme"));
        assert!(is_kebab_case("acme-2-x"));
        for bad in ["", "-acme", "acme-", "ac--me", "Acme", "ac me", "ac_me", "é"] {
            assert!(!is_kebab_case(bad), "{bad:?}");
        }
    }
}

/// Properties of slugs over arbitrary Unicode.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// The kebab-case rule said another way.
    fn kebab_by_hand(s: &str) -> bool {
        !s.is_empty()
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--")
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }

    proptest! {
        #[test]
        fn slugify_gives_kebab_case_or_nothing_and_is_idempotent(name in any::<String>()) {
            let slug = slugify(&name);
            prop_assert!(slug.is_empty() || is_kebab_case(&slug), "{name:?} → {slug:?}");
            prop_assert_eq!(slugify(&slug), slug.clone());
            // Empty exactly when the name has nothing that folds to [a-z0-9].
            let folds = name.nfd().flat_map(char::to_lowercase).any(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            prop_assert_eq!(slug.is_empty(), !folds);
        }

        #[test]
        fn kebab_case_slugs_are_their_own_slug(slug in "[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,5}") {
            prop_assert!(is_kebab_case(&slug));
            prop_assert_eq!(slugify(&slug), slug);
        }

        #[test]
        fn ascii_words_keep_their_letters_and_digits(words in prop::collection::vec("[A-Za-z0-9]{1,8}", 1..6), sep in "[ _.,!/-]{1,3}") {
            let slug = slugify(&words.join(&sep));
            prop_assert_eq!(slug, words.join("-").to_ascii_lowercase());
        }

        #[test]
        fn is_kebab_case_is_the_rule(s in "[a-z0-9-]{0,12}|\\PC{0,12}") {
            prop_assert_eq!(is_kebab_case(&s), kebab_by_hand(&s));
        }
    }
}
