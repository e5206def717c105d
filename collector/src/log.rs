//! Logs: one line per event on stderr, as logfmt (default) or JSON lines, with an RFC 3339
//! UTC timestamp and a level. Requests are logged at `info`, problems at `warn` / `error`.

use std::sync::OnceLock;

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// `ts=… level=info msg="request" method=POST path=/collect status=200 ms=0.8`
    #[default]
    Logfmt,
    /// `{"ts":"…","level":"info","msg":"request",…}`
    Json,
}

/// The least severe level written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Default)]
pub enum Level {
    /// Requests and start-up.
    #[default]
    Info,
    Warn,
    Error,
    /// Nothing.
    Off,
}

static CONFIG: OnceLock<(Format, Level)> = OnceLock::new();

/// Sets the format and level (once, at start; later calls are ignored).
pub fn init(format: Format, level: Level) {
    let _ = CONFIG.set((format, level));
}

fn config() -> (Format, Level) {
    CONFIG.get().copied().unwrap_or_default()
}

/// `2026-11-30T03:19:19.123Z`
pub fn timestamp(ms: i64) -> String {
    let day = ms.div_euclid(crate::report::DAY_MS);
    let rest = ms.rem_euclid(crate::report::DAY_MS);
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        crate::report::format_day(day),
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

fn quote_logfmt(v: &str) -> String {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'=' && b != b'\\')
    {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

/// Formats one line (without writing it).
pub fn format_line(
    format: Format,
    ms: i64,
    level: Level,
    msg: &str,
    fields: &[(&str, String)],
) -> String {
    let level = match level {
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error | Level::Off => "error",
    };
    match format {
        Format::Logfmt => {
            let mut s = format!(
                "ts={} level={level} msg={}",
                timestamp(ms),
                quote_logfmt(msg)
            );
            for (k, v) in fields {
                s.push(' ');
                s.push_str(k);
                s.push('=');
                s.push_str(&quote_logfmt(v));
            }
            s
        }
        Format::Json => {
            let mut m = serde_json::Map::new();
            m.insert("ts".into(), timestamp(ms).into());
            m.insert("level".into(), level.into());
            m.insert("msg".into(), msg.into());
            for (k, v) in fields {
                m.insert((*k).into(), v.clone().into());
            }
            serde_json::Value::Object(m).to_string()
        }
    }
}

/// Writes a line if `level` is enabled.
pub fn log(level: Level, msg: &str, fields: &[(&str, String)]) {
    let (format, min) = config();
    if level < min || min == Level::Off {
        return;
    }
    let ms = crate::now_ms();
    eprintln!("{}", format_line(format, ms, level, msg, fields));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_in_both_formats() {
        let f = [
            ("path", "/collect".to_string()),
            ("error", "bad \"json\"".to_string()),
        ];
        assert_eq!(
            format_line(
                Format::Logfmt,
                1_796_008_519_125,
                Level::Warn,
                "rejected batch",
                &f
            ),
            r#"ts=2026-11-30T03:15:19.125Z level=warn msg="rejected batch" path=/collect error="bad \"json\"""#
        );
        let j: serde_json::Value =
            serde_json::from_str(&format_line(Format::Json, 0, Level::Info, "request", &f))
                .unwrap();
        assert_eq!(j["ts"], "1970-01-01T00:00:00.000Z");
        assert_eq!(j["error"], "bad \"json\"");
    }
}
