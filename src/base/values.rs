//! Field parsers of SPEC §2 and §8 "Values": each returns the reason a value is malformed.

use chrono::{Datelike, NaiveDate};

/// Days since 1970-01-01; small and cheap to compare, group and hash.
pub type Day = i32;

const EPOCH_CE: i32 = 719_163; // NaiveDate::from_ymd(1970,1,1).num_days_from_ce()

pub fn day_from_date(d: NaiveDate) -> Day {
    d.num_days_from_ce() - EPOCH_CE
}

pub fn date_from_day(d: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(d + EPOCH_CE).expect("day in range")
}

pub fn iso(d: Day) -> String {
    let b = iso_bytes(d);
    String::from_utf8_lossy(&b).into_owned()
}

/// `YYYY-MM-DD` without the formatting machinery (millions of dates are written to the state).
pub fn iso_bytes(d: Day) -> [u8; 10] {
    let date = date_from_day(d);
    let (y, m, day) = (date.year().clamp(0, 9999) as u32, date.month(), date.day());
    let digit = |n: u32| b'0' + (n % 10) as u8;
    [
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(day / 10),
        digit(day),
    ]
}

/// Monday of the day's week: the key of a Monday-Sunday week.
pub fn week_of(d: Day) -> Day {
    d - date_from_day(d).weekday().num_days_from_monday() as Day
}

/// Fiscal year of ICD-10-CM code sets: FY N runs N-1-10-01 .. N-09-30.
pub fn fiscal_year(d: Day) -> i32 {
    let date = date_from_day(d);
    if date.month() >= 10 {
        date.year() + 1
    } else {
        date.year()
    }
}

/// Days since 1970-01-01 of a valid calendar date (Howard Hinnant's days_from_civil).
fn civil_day(y: i32, m: u32, d: u32) -> Option<Day> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > days_in[m as usize - 1] {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i32 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// `YYYY-MM-DD` or `M/D/YYYY` (leading zeros optional).
pub fn parse_date(s: &str) -> Result<Day, String> {
    // the common case without allocation or chrono
    let b = s.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let num = |r: std::ops::Range<usize>| {
            b[r].iter().try_fold(0u32, |acc, c| {
                c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
            })
        };
        if let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) {
            return civil_day(y as i32, m, d)
                .ok_or_else(|| format!("`{s}` is not a date (YYYY-MM-DD or M/D/YYYY)"));
        }
    }
    let bad = || format!("`{s}` is not a date (YYYY-MM-DD or M/D/YYYY)");
    let digits = |p: &str, min: usize, max: usize| {
        (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    let (y, m, d) = if let Some((y, rest)) = s.split_once('-') {
        let (m, d) = rest.split_once('-').ok_or_else(bad)?;
        if !(digits(y, 4, 4) && digits(m, 2, 2) && digits(d, 2, 2)) {
            return Err(bad());
        }
        (y, m, d)
    } else {
        let mut it = s.split('/');
        let (m, d, y) = match (it.next(), it.next(), it.next(), it.next()) {
            (Some(m), Some(d), Some(y), None) => (m, d, y),
            _ => return Err(bad()),
        };
        if !(digits(m, 1, 2) && digits(d, 1, 2) && digits(y, 4, 4)) {
            return Err(bad());
        }
        (y, m, d)
    };
    let date = NaiveDate::from_ymd_opt(
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    )
    .ok_or_else(bad)?;
    Ok(day_from_date(date))
}

/// Digits with an optional sign; `1.0` and `1e3` are not integers.
pub fn parse_int(s: &str) -> Result<i64, String> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not an integer"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("`{s}` is out of range"))
}

pub fn parse_non_negative(s: &str) -> Result<i64, String> {
    let v = parse_int(s)?;
    if v < 0 {
        return Err(format!("`{s}` is negative"));
    }
    Ok(v)
}

/// A plain decimal (`60`, `60.5`, `-12.00`, `.50`), in millionths so that sums are exact.
pub fn parse_charge(s: &str) -> Result<i64, String> {
    let bad = || format!("`{s}` is not a plain decimal amount");
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (body.contains('.') && int.is_empty() && frac.is_empty())
    {
        return Err(bad());
    }
    if frac.len() > 6 || int.len() > 12 {
        return Err(format!(
            "`{s}` has more precision or magnitude than a charge can carry"
        ));
    }
    let whole: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut micro: i64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        micro += (b - b'0') as i64 * 10i64.pow(5 - i as u32);
    }
    let v = whole * 1_000_000 + micro;
    Ok(if neg { -v } else { v })
}

/// Millionths as a decimal with two places (rounded half away from zero).
pub fn format_money(micro: i64) -> String {
    let cents = (micro.abs() + 5_000) / 10_000;
    let sign = if micro < 0 && cents > 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// Codes of a `;` list, trimmed and upper-cased, without allocating for short codes.
pub fn codes(s: &str) -> impl Iterator<Item = compact_str::CompactString> + '_ {
    // cut at the byte: `str::split(';')` starts a searcher for every piece, which costs more than
    // the search on pieces of a few bytes (this runs for every line and prescription)
    let mut rest = Some(s);
    std::iter::from_fn(move || loop {
        let r = rest?;
        let (piece, next) = match r.bytes().position(|b| b == b';') {
            Some(i) => (&r[..i], Some(&r[i + 1..])),
            None => (r, None),
        };
        rest = next;
        let c = piece.trim();
        if !c.is_empty() {
            let mut code = compact_str::CompactString::from(c);
            code.make_ascii_uppercase();
            return Some(code);
        }
    })
}

/// An ICD-10-CM code as compared: upper-cased, without its dot (inline: no allocation).
pub fn icd_key(code: &str) -> compact_str::CompactString {
    // the text around its dots copied piece by piece, cut at the byte as in `codes`
    let mut k = compact_str::CompactString::with_capacity(code.len());
    let mut rest = code;
    while let Some(i) = rest.bytes().position(|b| b == b'.') {
        k.push_str(&rest[..i]);
        rest = &rest[i + 1..];
    }
    k.push_str(rest);
    k.make_ascii_uppercase();
    k
}

/// `[A-Z][0-9][A-Z0-9](\.?[A-Z0-9]{1,4})?` on an upper-cased code.
pub fn icd_format_ok(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() < 3 || !b[0].is_ascii_uppercase() || !b[1].is_ascii_digit() {
        return false;
    }
    let alnum = |c: &u8| c.is_ascii_digit() || c.is_ascii_uppercase();
    if !alnum(&b[2]) {
        return false;
    }
    let rest = &b[3..];
    let rest = rest.strip_prefix(b".").unwrap_or(rest);
    if b.len() > 3 && rest.is_empty() {
        return false; // a trailing dot with nothing after it
    }
    rest.len() <= 4 && rest.iter().all(alnum)
}

/// ICD-10-CM code with its dot after the category, as printed in messages.
pub fn icd_display(key: &str) -> String {
    if key.len() > 3 {
        format!("{}.{}", &key[..3], &key[3..])
    } else {
        key.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_writes_what_chrono_writes() {
        for d in (-1000..40_000).step_by(7) {
            assert_eq!(iso(d), date_from_day(d).format("%Y-%m-%d").to_string());
        }
    }

    #[test]
    fn dates_in_both_formats() {
        let d = parse_date("2025-03-10").unwrap();
        assert_eq!(parse_date("3/10/2025"), Ok(d));
        assert_eq!(parse_date("03/10/2025"), Ok(d));
        assert_eq!(iso(d), "2025-03-10");
        for bad in [
            "2025-02-30",
            "13/1/2025",
            "2025-3-10",
            "10.03.2025",
            "",
            "3/10/25",
            "2025-03-10T00:00",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fast_path_agrees_with_chrono() {
        let mut d = chrono::NaiveDate::from_ymd_opt(1999, 1, 1).unwrap();
        while d.year() < 2031 {
            assert_eq!(
                parse_date(&d.format("%Y-%m-%d").to_string()),
                Ok(day_from_date(d))
            );
            d = d.succ_opt().unwrap();
        }
        for bad in [
            "2024-02-30",
            "2023-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-04-31",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert!(parse_date("2024-02-29").is_ok());
    }

    #[test]
    fn weeks_and_fiscal_years() {
        let mon = parse_date("2025-03-10").unwrap(); // a Monday
        assert_eq!(week_of(parse_date("2025-03-16").unwrap()), mon);
        assert_eq!(week_of(parse_date("2025-03-17").unwrap()), mon + 7);
        assert_eq!(fiscal_year(parse_date("2025-09-30").unwrap()), 2025);
        assert_eq!(fiscal_year(parse_date("2025-10-01").unwrap()), 2026);
    }

    #[test]
    fn integers_are_digits_with_a_sign() {
        assert_eq!(parse_int("+3"), Ok(3));
        assert_eq!(parse_int("-1"), Ok(-1));
        for bad in ["1.0", "1e3", "", "two", "-", " 1"] {
            assert!(parse_int(bad).is_err(), "{bad}");
        }
        assert!(parse_non_negative("-1").is_err());
    }

    #[test]
    fn charges_are_plain_decimals() {
        assert_eq!(parse_charge("60"), Ok(60_000_000));
        assert_eq!(parse_charge("40.125"), Ok(40_125_000));
        assert_eq!(parse_charge(".5"), Ok(500_000));
        assert_eq!(parse_charge("-12.00"), Ok(-12_000_000));
        for bad in ["$60", "1,000.00", "1e3", ".", "", "12.3.4"] {
            assert!(parse_charge(bad).is_err(), "{bad}");
        }
        assert_eq!(format_money(40_125_000), "40.13");
        assert_eq!(format_money(-5_000), "-0.01");
    }

    #[test]
    fn code_lists_split_at_semicolons_trimmed_and_upper_cased() {
        let list = |s: &str| codes(s).map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(list(" m62.838 ;; ;97140;"), ["M62.838", "97140"]);
        assert_eq!(list("\u{a0}z73.3\u{a0};é1"), ["Z73.3", "é1"]);
        assert_eq!(list(""), Vec::<String>::new());
        assert_eq!(list(";;"), Vec::<String>::new());
        assert_eq!(list("M54"), ["M54"]);
        assert_eq!(icd_key("m62.838"), "M62838");
        assert_eq!(icd_key("M5.4.50"), "M5450");
        assert_eq!(icd_key("M54"), "M54");
        assert_eq!(icd_key("."), "");
    }

    #[test]
    fn icd_syntax() {
        for ok in [
            "M54.50", "M5450", "S13.4XXA", "Z73.3", "M54", "I89.0", "M79.7",
        ] {
            assert!(icd_format_ok(ok), "{ok}");
        }
        for bad in [
            "M54.",
            "5M54",
            "M54.12345",
            "M5",
            "M5.4",
            "MM4",
            "M54..5",
            "",
        ] {
            assert!(!icd_format_ok(bad), "{bad}");
        }
        assert_eq!(icd_key("m54.50"), "M5450");
        assert_eq!(icd_display("M5450"), "M54.50");
    }
}
