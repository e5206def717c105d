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

    fn f(x: f64) -> String {
        let mut s = String::new();
        push_f64(&mut s, x);
        s
    }

    #[test]
    fn numbers_are_written_as_json_reads_them() {
        for x in [
            0.0,
            1.0,
            -2.5,
            19.99,
            0.000001,
            123456789.125,
            1e15,
            1.5e300,
            -7e20,
        ] {
            let back: f64 = serde_json::from_str(&f(x)).unwrap();
            assert!(
                (back - x).abs() <= x.abs() * 1e-14 + 1e-6,
                "{x} -> {}",
                f(x)
            );
        }
        assert_eq!(f(f64::NAN), "null");
        let mut s = String::new();
        push_u64(&mut s, u64::MAX);
        assert_eq!(s, "18446744073709551615");
        let mut s = String::new();
        push_str_literal(&mut s, "a\"b\\\n\u{1}é");
        assert_eq!(
            serde_json::from_str::<String>(&s).unwrap(),
            "a\"b\\\n\u{1}é"
        );
    }
}
