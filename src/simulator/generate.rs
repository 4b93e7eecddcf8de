//! Password generation for `POST /generate`, following OTS's `strand` (ots-api.md §8).

use rand::Rng;
use rand::seq::SliceRandom;

use crate::model::CharacterSets;

const UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";
const NUMBERS: &str = "0123456789";
const SYMBOLS: &str = "!@#$%^&*()_-+=[]{}|:;\"'<>,.?/~`";
/// Characters a human easily misreads; OTS leaves them out unless told otherwise.
const AMBIGUOUS: &str = "iloIO01";

/// The character classes a request enables, each already stripped of ambiguous characters when
/// that is asked for.
fn enabled_sets(sets: &CharacterSets) -> Vec<Vec<char>> {
    // OTS treats a flag as on unless it is explicitly false (Ruby truthiness, §8).
    let on = |flag: Option<bool>| flag != Some(false);
    let drop_ambiguous = on(sets.exclude_ambiguous);
    let classes = [
        (sets.uppercase, UPPERCASE),
        (sets.lowercase, LOWERCASE),
        (sets.numbers, NUMBERS),
        (sets.symbols, SYMBOLS),
    ];
    let mut chosen: Vec<&str> = classes
        .iter()
        .filter(|(flag, _)| on(*flag))
        .map(|(_, chars)| *chars)
        .collect();
    // Every class switched off would leave nothing to draw from. The caller still asked for a
    // password, so fall back to the server default rather than fail or return an empty value.
    if chosen.is_empty() {
        chosen = classes.iter().map(|(_, chars)| *chars).collect();
    }
    chosen
        .into_iter()
        .map(|chars| {
            chars
                .chars()
                .filter(|c| !(drop_ambiguous && AMBIGUOUS.contains(*c)))
                .collect()
        })
        .collect()
}

/// A random password of `length` characters containing at least one character of every enabled
/// class. When `length` is smaller than the number of classes, a random subset of the classes
/// is represented, because a password cannot be longer than asked for.
pub(crate) fn password(length: usize, sets: &CharacterSets) -> String {
    let mut rng = rand::rng();
    let mut classes = enabled_sets(sets);
    classes.shuffle(&mut rng);
    let alphabet: Vec<char> = classes.iter().flatten().copied().collect();
    let mut out: Vec<char> = classes
        .iter()
        .take(length)
        .filter_map(|class| pick(class, &mut rng))
        .collect();
    while out.len() < length {
        match pick(&alphabet, &mut rng) {
            Some(c) => out.push(c),
            None => break,
        }
    }
    // The guaranteed characters were placed first; shuffle so their positions give nothing away.
    out.shuffle(&mut rng);
    out.into_iter().collect()
}

fn pick(chars: &[char], rng: &mut impl Rng) -> Option<char> {
    if chars.is_empty() {
        None
    } else {
        Some(chars[rng.random_range(0..chars.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_off() -> CharacterSets {
        CharacterSets {
            uppercase: Some(false),
            lowercase: Some(false),
            numbers: Some(false),
            symbols: Some(false),
            exclude_ambiguous: None,
        }
    }

    #[test]
    fn default_sets_cover_every_class_and_skip_ambiguous_characters() {
        for _ in 0..200 {
            let p = password(12, &CharacterSets::default());
            assert_eq!(p.chars().count(), 12);
            assert!(p.chars().any(|c| c.is_ascii_uppercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_lowercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_digit()), "{p}");
            assert!(p.chars().any(|c| SYMBOLS.contains(c)), "{p}");
            assert!(!p.chars().any(|c| AMBIGUOUS.contains(c)), "{p}");
        }
    }

    #[test]
    fn disabled_classes_never_appear() {
        let sets = CharacterSets {
            symbols: Some(false),
            uppercase: Some(false),
            ..CharacterSets::default()
        };
        for _ in 0..200 {
            let p = password(40, &sets);
            assert!(
                p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{p}"
            );
        }
    }

    #[test]
    fn ambiguous_characters_return_when_asked_for() {
        let sets = CharacterSets {
            uppercase: Some(false),
            lowercase: Some(false),
            symbols: Some(false),
            exclude_ambiguous: Some(false),
            ..CharacterSets::default()
        };
        let seen: String = (0..50).map(|_| password(40, &sets)).collect();
        assert!(seen.contains('0') && seen.contains('1'));
    }

    #[test]
    fn all_classes_off_falls_back_to_the_default_alphabet() {
        let p = password(64, &all_off());
        assert_eq!(p.chars().count(), 64);
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| SYMBOLS.contains(c)));
    }

    #[test]
    fn short_lengths_are_respected() {
        assert_eq!(password(1, &CharacterSets::default()).chars().count(), 1);
        assert_eq!(password(3, &CharacterSets::default()).chars().count(), 3);
    }
}
