//! The audit file: one JSON line per audit event, in the shape `tracing-subscriber`'s JSON
//! formatter gives (`timestamp`, `level`, `fields`, `target`), written by a layer made for the
//! job.
//!
//! Every operation writes one audit line, so its cost is paid on every request. The general
//! formatter builds a serializer, a field visitor and a timestamp through several layers of
//! indirection for each line; measured with callgrind it was about a seventh of the instructions
//! of a status request. This layer knows the events are flat and small: it renders them into one
//! reused buffer and hands the line to the file in one `write`, so a line is complete in the file
//! (and survives a crash of the process) as soon as the event returns.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Appends audit events to a file. Filter it to the audit target.
pub struct AuditFileLayer {
    file: Mutex<File>,
}

impl AuditFileLayer {
    pub fn new(file: File) -> Self {
        AuditFileLayer {
            file: Mutex::new(file),
        }
    }
}

thread_local! {
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

impl<S: Subscriber> Layer<S> for AuditFileLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        LINE.with_borrow_mut(|line| {
            line.clear();
            render(line, event, SystemTime::now());
            let mut file = self
                .file
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Nowhere to report a failed audit write without risking a loop through this layer;
            // the file's health is the operator's to watch, as with any log file.
            let _ = file.write_all(line.as_bytes());
        });
    }
}

/// `{"timestamp":…,"level":…,"fields":{…},"target":…}` and a newline.
fn render(line: &mut String, event: &Event<'_>, now: SystemTime) {
    let metadata = event.metadata();
    line.push_str("{\"timestamp\":\"");
    let _ = write!(line, "{}", humantime::format_rfc3339_micros(now));
    line.push_str("\",\"level\":\"");
    line.push_str(metadata.level().as_str());
    line.push_str("\",\"fields\":{");
    let mut fields = JsonFields { line, first: true };
    event.record(&mut fields);
    line.push_str("},\"target\":");
    push_json_string(line, metadata.target());
    line.push_str("}\n");
}

struct JsonFields<'a> {
    line: &'a mut String,
    first: bool,
}

impl JsonFields<'_> {
    fn key(&mut self, field: &Field) {
        if !self.first {
            self.line.push(',');
        }
        self.first = false;
        push_json_string(self.line, field.name());
        self.line.push(':');
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        push_json_string(self.line, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        self.line.push('"');
        // `%value` fields arrive here and print with Display. Escaping happens while writing,
        // so the value is never held unescaped in a second buffer.
        let _ = write!(
            JsonEscaped {
                line: &mut *self.line
            },
            "{value:?}"
        );
        self.line.push('"');
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.line.push_str(if value { "true" } else { "false" });
    }
}

fn push_json_string(line: &mut String, value: &str) {
    line.push('"');
    let _ = JsonEscaped { line: &mut *line }.write_str(value);
    line.push('"');
}

fn needs_escape(byte: u8) -> bool {
    matches!(byte, b'"' | b'\\' | 0x00..=0x1f | 0x7f)
}

/// Writes what it is given as the inside of a JSON string.
struct JsonEscaped<'a> {
    line: &'a mut String,
}

impl fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Runs that need no escape are copied whole: audit values are almost always plain
        // ASCII, and pushing them a character at a time was most of a line's cost.
        let mut rest = text;
        while let Some(at) = rest.bytes().position(needs_escape) {
            let (plain, tail) = rest.split_at(at);
            self.line.push_str(plain);
            // Every byte that needs an escape is ASCII, so it is a whole character.
            let byte = tail.as_bytes()[0];
            match byte {
                b'"' => self.line.push_str("\\\""),
                b'\\' => self.line.push_str("\\\\"),
                b'\n' => self.line.push_str("\\n"),
                b'\r' => self.line.push_str("\\r"),
                b'\t' => self.line.push_str("\\t"),
                control => {
                    let _ = write!(self.line, "\\u{control:04x}");
                }
            }
            rest = &tail[1..];
        }
        self.line.push_str(rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use tracing_subscriber::prelude::*;

    use super::*;

    #[derive(Debug)]
    struct Shown;

    impl fmt::Display for Shown {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("quote \" backslash \\ newline \n bell \u{7} delete \u{7f} accent é")
        }
    }

    /// The line must parse as JSON with the formatter's shape, whatever the fields hold.
    #[test]
    fn events_become_json_lines_in_the_formatters_shape() {
        let dir = std::env::temp_dir().join(format!("audit-layer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("audit.jsonl");
        let file = File::create(&path).expect("audit file");
        let subscriber = tracing_subscriber::registry().with(AuditFileLayer::new(file));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                target: "ots_gateway::audit",
                frontend = %"rest",
                caller = %Shown,
                outcome = "ok",
                count = 3_u64,
                delta = -2_i64,
                fresh = true,
                "audit"
            );
        });
        let mut written = String::new();
        File::open(&path)
            .expect("reopen")
            .read_to_string(&mut written)
            .expect("read");
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            written.ends_with('\n') && written.lines().count() == 1,
            "{written:?}"
        );
        let line: serde_json::Value = serde_json::from_str(&written).expect("valid JSON");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["target"], "ots_gateway::audit");
        let fields = &line["fields"];
        assert_eq!(fields["message"], "audit");
        assert_eq!(fields["frontend"], "rest");
        assert_eq!(
            fields["caller"],
            "quote \" backslash \\ newline \n bell \u{7} delete \u{7f} accent é"
        );
        assert!(
            written.contains("\\u0007 delete \\u007f accent é"),
            "{written}"
        );
        assert_eq!(fields["outcome"], "ok");
        assert_eq!(fields["count"], 3);
        assert_eq!(fields["delta"], -2);
        assert_eq!(fields["fresh"], true);
        let stamp = line["timestamp"].as_str().expect("timestamp");
        assert!(
            humantime::parse_rfc3339(stamp).is_ok(),
            "RFC 3339 time: {stamp}"
        );
        let keys: Vec<&str> = line
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
    }
}
