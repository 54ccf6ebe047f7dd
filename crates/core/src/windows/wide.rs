//! UTF-16 text as the Windows APIs and both backends pass it: NUL-terminated going out,
//! NUL-terminated or counted coming in.
//!
//! Paths have their own conversions in [`names`](super::names), which also check and
//! translate separators; these are for everything else (labels, patterns, SDDL, DLL and
//! device names).

/// `text` as UTF-16 with a terminating NUL, as Win32 functions take strings.
pub fn to_wide_nul(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(Some(0)).collect()
}

/// The units of `wide` before its first NUL, or all of them when it has none.
pub fn until_nul(wide: &[u16]) -> &[u16] {
    let end = wide
        .iter()
        .position(|&unit| unit == 0)
        .unwrap_or(wide.len());
    &wide[..end]
}

/// The text of `wide` up to its first NUL (or all of it), or `None` when it is not valid
/// UTF-16 (an unpaired surrogate), which a caller answers with `STATUS_INVALID_PARAMETER`.
pub fn text_until_nul(wide: &[u16]) -> Option<String> {
    String::from_utf16(until_nul(wide)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_goes_out_nul_terminated() {
        assert_eq!(to_wide_nul("a€"), [0x61, 0x20ac, 0]);
        assert_eq!(to_wide_nul(""), [0]);
        assert_eq!(to_wide_nul("😀"), [0xd83d, 0xde00, 0]);
    }

    #[test]
    fn text_comes_in_up_to_the_first_nul() {
        let wide: Vec<u16> = "label\0rest".encode_utf16().collect();
        assert_eq!(until_nul(&wide).len(), 5);
        assert_eq!(text_until_nul(&wide).as_deref(), Some("label"));
        let counted: Vec<u16> = "*.txt".encode_utf16().collect();
        assert_eq!(text_until_nul(&counted).as_deref(), Some("*.txt"));
        assert_eq!(text_until_nul(&[]).as_deref(), Some(""));
    }

    #[test]
    fn unpaired_surrogates_are_refused() {
        assert_eq!(text_until_nul(&[0x61, 0xd800, 0x62]), None);
        assert_eq!(text_until_nul(&[0x61, 0, 0xd800]).as_deref(), Some("a"));
    }
}
