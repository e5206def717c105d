//! The JSON writers the encoder uses: no `core::fmt` (its float formatting would cost the
//! browser build kilobytes), nothing allocated beyond the output.

use alloc::string::String;

/// Appends `s` as a quoted, escaped JSON string literal.
pub fn push_str_literal(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let n = c as usize;
                out.push_str("\\u00");
                out.push(HEX[n >> 4] as char);
                out.push(HEX[n & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends the decimal digits of `n`.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

/// Appends a finite number as JSON: integers exactly, other values rounded to 6 decimals
/// (enough for money and percentages; no `core::fmt` float formatting in the wasm).
/// Non-finite values are written as `null`.
pub fn push_f64(out: &mut String, x: f64) {
    if !x.is_finite() {
        out.push_str("null");
        return;
    }
    if x < 0.0 {
        out.push('-');
    }
    let a = if x < 0.0 { -x } else { x };
    // 1e15 keeps the micro-units within u64; larger values are written as mantissa and
    // exponent (`123e20`), 15 significant digits being all an f64 holds anyway.
    if a >= 1e15 {
        let mut m = a;
        let mut e = 0u64;
        while m >= 1e15 {
            m /= 10.0;
            e += 1;
        }
        push_u64(out, (m + 0.5) as u64);
        out.push('e');
        push_u64(out, e);
        return;
    }
    let micros = (a * 1_000_000.0 + 0.5) as u64;
    push_u64(out, micros / 1_000_000);
    let mut frac = micros % 1_000_000;
    if frac != 0 {
        out.push('.');
        let mut digits = 6;
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        let mut tmp = String::new();
        push_u64(&mut tmp, frac);
        for _ in tmp.len()..digits {
            out.push('0');
        }
        out.push_str(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn lit(s: &str) -> String {
        let mut out = String::new();
        push_str_literal(&mut out, s);
        out
    }

    #[test]
    fn string_literals_round_trip_through_a_real_json_parser() {
        for s in [
            "",
            "plain",
            "quote \" and \\ slash",
            "tab\tnew\nline\r",
            "\u{1}\u{1f}",
            "ünï 😀",
            "\u{2028}",
        ] {
            let back: String = serde_json::from_str(&lit(s)).unwrap();
            assert_eq!(back, s);
        }
        assert_eq!(lit("\u{1}"), "\"\\u0001\"");
    }

    #[test]
    fn integers() {
        for n in [0u64, 7, 10, 99, 1_700_000_000_000, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn floats() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (49.99, "49.99"),
            (-3.5, "-3.5"),
            (0.000001, "0.000001"),
            (0.05, "0.05"),
            (1234567.125, "1234567.125"),
            (2.0000004, "2"),
            (f64::NAN, "null"),
            (f64::INFINITY, "null"),
            (1e20, "100000000000000e6"),
            (-2.5e300, "-250000000000000e286"),
            (f64::MAX, "179769313486232e294"),
        ];
        for (x, want) in cases {
            let mut out = String::new();
            push_f64(&mut out, *x);
            assert_eq!(&out, want, "for {x}");
        }
    }

    #[test]
    fn every_finite_float_is_valid_json_close_to_the_value() {
        for x in [1e15, 123456789012345678.0, 7e-7, 0.0000004, -1e300, 5e-324] {
            let mut out = String::new();
            push_f64(&mut out, x);
            let back: f64 = serde_json::from_str(&out).unwrap();
            assert!((back - x).abs() <= x.abs() * 1e-14 + 1e-6, "{x} -> {out}");
        }
    }
}
