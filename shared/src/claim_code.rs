//! Claim codes: printed in a collar's box, typed by its owner to claim it.
//!
//! 15 random characters (75 bits) and one check character in Crockford's base-32 alphabet
//! (`0-9A-Z` without `I L O U`, so nothing reads as another), shown in four groups of four:
//! `7KQ4-M2XD-9HTR-B5N8`. Typing is forgiven: case, spaces and dashes are ignored, and `O`,
//! `I`, `L` are read as `0`, `1`, `1`. The check character (Luhn mod 32) catches every
//! single mistyped character and every swap of two neighbours but one pair (`0`↔`Z`), before
//! any lookup. Only a SHA-256 of the normalised code is stored; 75 random bits make a fast hash
//! safe, and comparisons are constant-time.

use aws_lc_rs::digest;

/// Crockford's base-32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random characters, then the check character.
const RANDOM_LEN: usize = 15;
/// Characters of a code, check included.
pub const CODE_LEN: usize = RANDOM_LEN + 1;

/// A claim code, normalised (16 characters, no dashes).
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimCode(String);

impl std::fmt::Debug for ClaimCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaimCode(<redacted>)")
    }
}

/// Why a typed code cannot be a claim code (a 400 naming `claim_code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedCode {
    #[error("claim_code must be 16 characters (4 groups of 4, e.g. 7KQ4-M2XD-9HTR-B5N8)")]
    Length,
    #[error("claim_code has a character that is not in the code alphabet (0-9, A-Z without U)")]
    Character,
    #[error("claim_code has a typo: its check character does not match")]
    Check,
}

fn value(c: u8) -> Option<u32> {
    let c = match c.to_ascii_uppercase() {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        other => other,
    };
    ALPHABET.iter().position(|a| *a == c).map(|p| p as u32)
}

/// Luhn mod 32 over the code's values: the check character that makes the sum divisible.
fn check_char(values: &[u32]) -> u8 {
    let mut sum = 0;
    for (i, v) in values.iter().rev().enumerate() {
        let mut addend = if i % 2 == 0 { v * 2 } else { *v };
        addend = addend / 32 + addend % 32;
        sum += addend;
    }
    ALPHABET[((32 - sum % 32) % 32) as usize]
}

impl ClaimCode {
    /// A new random code.
    pub fn generate() -> Self {
        let random = crate::api_key::random_from(ALPHABET, RANDOM_LEN);
        let values: Vec<u32> = random.bytes().filter_map(value).collect();
        let mut code = random;
        code.push(check_char(&values) as char);
        Self(code)
    }

    /// Reads a typed code: case, spaces and dashes ignored, `O`/`I`/`L` read as `0`/`1`/`1`.
    pub fn parse(typed: &str) -> Result<Self, MalformedCode> {
        let chars: Vec<u8> = typed.bytes().filter(|b| !matches!(b, b' ' | b'-' | b'\t')).collect();
        if chars.len() != CODE_LEN {
            return Err(MalformedCode::Length);
        }
        let values: Vec<u32> =
            chars.iter().map(|c| value(*c)).collect::<Option<_>>().ok_or(MalformedCode::Character)?;
        let (body, check) = values.split_at(RANDOM_LEN);
        if ALPHABET[check[0] as usize] != check_char(body) {
            return Err(MalformedCode::Check);
        }
        Ok(Self(values.iter().map(|v| ALPHABET[*v as usize] as char).collect()))
    }

    /// As printed in the box: four groups of four.
    pub fn printed(&self) -> String {
        let b = self.0.as_bytes();
        b.chunks(4).map(|c| std::str::from_utf8(c).expect("ASCII")).collect::<Vec<_>>().join("-")
    }

    /// The stored form: SHA-256 of the normalised code, hex.
    pub fn hash(&self) -> String {
        let d = digest::digest(&digest::SHA256, format!("petty-claim-code:{}", self.0).as_bytes());
        d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// True when `stored` is this code's hash (constant-time).
    pub fn matches(&self, stored: &str) -> bool {
        crate::api_key::hashes_match(&self.hash(), stored)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_generated_code_reads_back_however_it_is_typed() {
        let code = ClaimCode::generate();
        let printed = code.printed();
        assert_eq!(printed.len(), 19);
        assert_eq!(printed.matches('-').count(), 3);
        for typed in [printed.clone(), printed.to_lowercase(), printed.replace('-', " "), printed.replace('-', "")] {
            assert_eq!(ClaimCode::parse(&typed).unwrap(), code, "{typed}");
        }
        assert!(code.matches(&code.hash()));
        assert!(!ClaimCode::generate().matches(&code.hash()));
        assert_eq!(format!("{code:?}"), "ClaimCode(<redacted>)");
    }

    #[test]
    fn confusable_letters_read_as_the_digits_they_look_like() {
        // Build a code whose body has 0 and 1, then type them as O and l.
        loop {
            let code = ClaimCode::generate();
            let p = code.printed();
            if p.contains('0') && p.contains('1') {
                let typed = p.replace('0', "O").replace('1', "l");
                assert_eq!(ClaimCode::parse(&typed).unwrap(), code);
                break;
            }
        }
    }

    #[test]
    fn malformed_codes_say_what_is_wrong() {
        assert_eq!(ClaimCode::parse("7KQ4-M2XD-9HTR"), Err(MalformedCode::Length));
        assert_eq!(ClaimCode::parse("7KQ4-M2XD-9HTR-B5N8-X"), Err(MalformedCode::Length));
        assert_eq!(ClaimCode::parse("7KQ4-M2XD-9HTR-B5U8"), Err(MalformedCode::Character));
        assert_eq!(ClaimCode::parse("7KQ4-M2XD-9HTR-B5N*"), Err(MalformedCode::Character));
        assert_eq!(ClaimCode::parse(""), Err(MalformedCode::Length));
    }

    #[test]
    fn every_single_typo_is_caught_and_every_neighbour_swap_but_zero_and_z() {
        let code = ClaimCode::generate();
        let chars: Vec<u8> = code.0.bytes().collect();
        for i in 0..CODE_LEN {
            for sub in ALPHABET.iter().filter(|c| **c != chars[i]) {
                let mut typo = chars.clone();
                typo[i] = *sub;
                assert!(ClaimCode::parse(std::str::from_utf8(&typo).unwrap()).is_err(), "substitution at {i}");
            }
        }
        for i in 0..CODE_LEN - 1 {
            let (a, b) = (chars[i], chars[i + 1]);
            let pair = [a, b];
            if a == b || pair == [b'0', b'Z'] || pair == [b'Z', b'0'] {
                continue;
            }
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            assert!(ClaimCode::parse(std::str::from_utf8(&swapped).unwrap()).is_err(), "swap at {i}");
        }
    }

    proptest! {
        #[test]
        fn any_text_is_a_code_or_a_typed_error_never_a_panic(text in "\\PC{0,40}") {
            let _ = ClaimCode::parse(&text);
        }

        #[test]
        fn every_swap_of_two_different_neighbours_is_caught(a in 0u32..32, b in 0u32..32, body in proptest::collection::vec(0u32..32, 13)) {
            prop_assume!(a != b && !((a == 0 && b == 31) || (a == 31 && b == 0)));
            for at in 0..14 {
                let mut values = body.clone();
                values.insert(at, b);
                values.insert(at, a);
                let check = check_char(&values);
                let mut text: String = values.iter().map(|v| ALPHABET[*v as usize] as char).collect();
                text.push(check as char);
                prop_assert!(ClaimCode::parse(&text).is_ok());
                let mut swapped: Vec<u8> = text.bytes().collect();
                swapped.swap(at, at + 1);
                prop_assert!(ClaimCode::parse(std::str::from_utf8(&swapped).unwrap()).is_err());
            }
        }
    }
}
