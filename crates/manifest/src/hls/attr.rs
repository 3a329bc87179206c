//! Attribute-list value helpers.

/// A quoted-string attribute value. [HLS §4.2] "quoted-string: … MUST NOT contain CR,
/// LF or DQUOTE"; such characters cannot come from weir's validated ids and codec
/// strings, and are dropped defensively.
pub fn quoted(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| !matches!(c, '"' | '\r' | '\n'))
        .collect();
    format!("\"{clean}\"")
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_and_strips_forbidden_characters() {
        assert_eq!(super::quoted("avc1.64001f"), "\"avc1.64001f\"");
        assert_eq!(super::quoted("a\"b\nc"), "\"abc\"");
    }
}
