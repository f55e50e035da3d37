//! Calendar days, as a provider's reports count them: a day in the provider's report time
//! zone (a fixed offset from UTC: the markets walletpay serves keep no daylight saving), the
//! instants it spans, its weekday and ISO week.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use walletpay_domain::Timestamp;

const DAY_MS: i64 = 86_400_000;

/// A calendar day: days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i32);

/// Monday is 0, Sunday 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
}

/// Days since the epoch of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy as i32;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Date {
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m))
            .then(|| Date(days_from_civil(y, m, d)))
    }

    /// `YYYY-MM-DD`, exactly.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = &s[r];
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())
                .flatten()
        };
        Date::from_ymd(num(0..4)? as i32, num(5..7)?, num(8..10)?)
    }

    /// `YYYYMMDD`, exactly (file names and ids).
    pub fn parse_compact(s: &str) -> Option<Date> {
        (s.len() == 8 && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| Date::parse(&format!("{}-{}-{}", &s[0..4], &s[4..6], &s[6..8])))
            .flatten()
    }

    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    pub fn compact(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{y:04}{m:02}{d:02}")
    }

    pub fn plus_days(self, n: i32) -> Date {
        Date(self.0 + n)
    }

    /// Days from `earlier` to `self`.
    pub fn days_since(self, earlier: Date) -> i32 {
        self.0 - earlier.0
    }

    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday.
        Weekday::ALL[(self.0 + 3).rem_euclid(7) as usize]
    }

    /// The day `at` falls on, `offset_minutes` east of UTC.
    pub fn of(at: Timestamp, offset_minutes: i32) -> Date {
        Date((at.millis() + offset_minutes as i64 * 60_000).div_euclid(DAY_MS) as i32)
    }

    /// The instant the day begins, `offset_minutes` east of UTC.
    pub fn start(self, offset_minutes: i32) -> Timestamp {
        Timestamp(self.0 as i64 * DAY_MS - offset_minutes as i64 * 60_000)
    }

    /// The instant the next day begins.
    pub fn end(self, offset_minutes: i32) -> Timestamp {
        self.plus_days(1).start(offset_minutes)
    }

    /// ISO 8601 week: its year and number (weeks begin on Monday; week 1 holds a Thursday).
    pub fn iso_week(self) -> IsoWeek {
        let thursday = self.plus_days(3 - self.weekday() as i32);
        let (year, _, _) = thursday.ymd();
        let jan1 = Date::from_ymd(year, 1, 1).expect("1 January");
        IsoWeek {
            year,
            week: (thursday.days_since(jan1) / 7 + 1) as u32,
        }
    }
}

/// An ISO 8601 week (`2026-W48`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    pub year: i32,
    pub week: u32,
}

impl IsoWeek {
    /// `YYYY-Www`, exactly, for a week the year has.
    pub fn parse(s: &str) -> Option<IsoWeek> {
        let (y, w) = s.split_once("-W")?;
        if y.len() != 4 || w.len() != 2 || !(y.bytes().chain(w.bytes())).all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let week = IsoWeek {
            year: y.parse().ok()?,
            week: w.parse().ok()?,
        };
        (week.week >= 1 && week.monday().iso_week() == week).then_some(week)
    }

    /// The week's Monday.
    pub fn monday(self) -> Date {
        // 4 January is always in week 1.
        let jan4 = Date::from_ymd(self.year, 1, 4).expect("4 January");
        jan4.plus_days(-(jan4.weekday() as i32) + 7 * (self.week as i32 - 1))
    }

    /// Its seven days, Monday first.
    pub fn days(self) -> impl Iterator<Item = Date> {
        let monday = self.monday();
        (0..7).map(move |i| monday.plus_days(i))
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not a YYYY-MM-DD date: {s}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_format_and_count_days() {
        let d = Date::parse("2026-12-01").unwrap();
        assert_eq!(d.to_string(), "2026-12-01");
        assert_eq!(d.weekday(), Weekday::Tue);
        assert_eq!(Date::parse("1970-01-01"), Some(Date(0)));
        assert_eq!(
            Date::parse("2024-02-29").unwrap().plus_days(1).to_string(),
            "2024-03-01"
        );
        for bad in [
            "2026-13-01",
            "2026-02-29",
            "2026-1-01",
            "26-12-01",
            "2026-12-01 ",
            "2026/12/01",
            "",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert_eq!(Date::parse_compact("20261201"), Some(d));
        assert_eq!(d.compact(), "20261201");
    }

    #[test]
    fn a_day_in_a_time_zone_spans_its_own_instants() {
        let wib = 7 * 60;
        let d = Date::parse("2026-12-01").unwrap();
        assert_eq!(d.start(wib).to_string(), "2026-11-30T17:00:00.000Z");
        assert_eq!(d.end(wib).to_string(), "2026-12-01T17:00:00.000Z");
        let late = Timestamp::parse_rfc3339("2026-11-30T17:30:00Z").unwrap();
        assert_eq!(Date::of(late, wib), d);
        assert_eq!(Date::of(late, 0).to_string(), "2026-11-30");
        let brt = -3 * 60;
        let night = Timestamp::parse_rfc3339("2026-12-02T01:00:00Z").unwrap();
        assert_eq!(Date::of(night, brt), d);
    }

    #[test]
    fn iso_weeks_follow_the_standard() {
        // Examples from ISO 8601: 2004-W53 runs into 2005, 2008-12-29 is in 2009-W01.
        assert_eq!(
            Date::parse("2005-01-01").unwrap().iso_week().to_string(),
            "2004-W53"
        );
        assert_eq!(
            Date::parse("2008-12-29").unwrap().iso_week().to_string(),
            "2009-W01"
        );
        assert_eq!(
            Date::parse("2026-12-01").unwrap().iso_week().to_string(),
            "2026-W49"
        );
        let w = IsoWeek::parse("2026-W49").unwrap();
        assert_eq!(w.monday().to_string(), "2026-11-30");
        let days: Vec<String> = w.days().map(|d| d.to_string()).collect();
        assert_eq!(days.first().unwrap(), "2026-11-30");
        assert_eq!(days.last().unwrap(), "2026-12-06");
        // A year beginning on a Thursday has 53 weeks; 2025 began on a Wednesday.
        assert_eq!(
            IsoWeek::parse("2026-W53").unwrap().monday().to_string(),
            "2026-12-28"
        );
        assert!(IsoWeek::parse("2025-W53").is_none(), "2025 has 52 weeks");
        assert!(IsoWeek::parse("2026-W00").is_none());
        assert!(IsoWeek::parse("2026-49").is_none());
    }
}
