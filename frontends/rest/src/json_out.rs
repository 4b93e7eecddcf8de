//! Writes the v1 receipt bodies as JSON directly into the response buffer.
//!
//! Every share answers with a receipt of about 900 bytes, and a `recent` list holds one per
//! entry. Through serde_json each field name was escaped again on every response and each string
//! value looked up byte by byte in an escape table: about 9 400 instructions per receipt, the
//! largest single cost of a share after the ledger commit and the upstream answer's parse
//! (BENCHMARKS.md). Here a field name is written as it stands (names are ours, plain ASCII), and
//! a value is copied whole when a quick scan finds nothing to escape, which is nearly always (keys,
//! URLs, state names). A value that does need escaping goes through serde_json, so the bytes are
//! exactly those serde_json writes; `render`'s tests hold every receipt shape to that.

/// Writes one JSON object's members, in the order they are given.
pub(crate) struct JsonObject<'out> {
    out: &'out mut Vec<u8>,
    empty: bool,
}

impl<'out> JsonObject<'out> {
    pub(crate) fn begin(out: &'out mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonObject { out, empty: true }
    }

    pub(crate) fn end(self) {
        self.out.push(b'}');
    }

    /// Starts a member; its value is written next, into [`Self::out`].
    pub(crate) fn key(&mut self, name: &'static str) -> &mut Vec<u8> {
        debug_assert!(
            !name.bytes().any(needs_escape),
            "member names are written unescaped"
        );
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub(crate) fn str(&mut self, name: &'static str, value: &str) {
        write_str(self.key(name), value);
    }

    pub(crate) fn int(&mut self, name: &'static str, value: impl itoa::Integer) {
        let mut digits = itoa::Buffer::new();
        self.key(name)
            .extend_from_slice(digits.format(value).as_bytes());
    }

    pub(crate) fn bool(&mut self, name: &'static str, value: bool) {
        let literal: &[u8] = if value { b"true" } else { b"false" };
        self.key(name).extend_from_slice(literal);
    }

    pub(crate) fn null(&mut self, name: &'static str) {
        self.key(name).extend_from_slice(b"null");
    }

    /// Writes the member with `write` when there is a value, and leaves it out when there is
    /// none, as OTS does with fields it has nothing for.
    pub(crate) fn optional<T>(
        &mut self,
        name: &'static str,
        value: Option<T>,
        write: fn(&mut Self, &'static str, T),
    ) {
        if let Some(value) = value {
            write(self, name, value);
        }
    }

    pub(crate) fn strs(&mut self, name: &'static str, values: &[String]) {
        let out = self.key(name);
        out.push(b'[');
        for (at, value) in values.iter().enumerate() {
            if at > 0 {
                out.push(b',');
            }
            write_str(out, value);
        }
        out.push(b']');
    }
}

/// What JSON requires escaped in a string: the quote, the backslash and control characters.
fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Whether `bytes` holds anything JSON requires escaped. Sixteen bytes at a time, each chunk
/// checked whole with no early exit, so the compiler compares them in one vector step: byte by
/// byte with an early exit (`Iterator::any`) the scan cost about as much as serde_json's table.
fn has_escapes(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(16);
    for chunk in &mut chunks {
        if chunk
            .iter()
            .fold(false, |found, &byte| found | needs_escape(byte))
        {
            return true;
        }
    }
    chunks.remainder().iter().any(|&byte| needs_escape(byte))
}

/// A JSON string.
pub(crate) fn write_str(out: &mut Vec<u8>, value: &str) {
    if has_escapes(value.as_bytes()) {
        // Writing into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
        return;
    }
    out.reserve(value.len() + 2);
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_come_out_as_serde_json_writes_them() {
        for value in [
            "",
            "plain",
            "https://ots.example/secret/abc?x=1&y=2",
            "quote \" and backslash \\",
            "controls \u{0} \u{8} \t \n \u{c} \r \u{1f} and DEL \u{7f}",
            "unicode: é 日本 🔑 \u{2028}",
            "</script>",
        ] {
            let mut ours = Vec::new();
            write_str(&mut ours, value);
            assert_eq!(
                String::from_utf8(ours).expect("utf-8"),
                serde_json::to_string(value).expect("serde_json"),
                "{value:?}"
            );
        }
    }

    /// Each kind of byte that needs escaping, at every position of a 16-byte chunk and of the
    /// tail after the last whole chunk.
    #[test]
    fn an_escape_is_found_wherever_it_is() {
        for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
            for len in [1, 15, 16, 17, 40] {
                for at in 0..len {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    assert!(has_escapes(&bytes), "{special:#x} at {at} of {len}");
                }
                assert!(!has_escapes(&vec![b'a'; len]));
            }
        }
        assert!(!has_escapes("é日本🔑 \u{7f}".as_bytes()));
    }

    #[test]
    fn members_are_written_in_order_with_json_types() {
        let mut out = Vec::new();
        let mut object = JsonObject::begin(&mut out);
        object.str("a", "x");
        object.int("b", u64::MAX);
        object.int("c", i64::MIN);
        object.bool("d", false);
        object.null("e");
        object.strs("f", &["1".to_owned(), "\"2\"".to_owned()]);
        object.strs("g", &[]);
        object.end();
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            format!(
                r#"{{"a":"x","b":{},"c":{},"d":false,"e":null,"f":["1","\"2\""],"g":[]}}"#,
                u64::MAX,
                i64::MIN
            )
        );
    }
}
