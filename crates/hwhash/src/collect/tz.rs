//! The machine's offset from UTC at a given instant, from its TZif zone file (`/etc/localtime`):
//! the transitions, then the POSIX TZ rule in the footer for instants after the last one.

use time::{Date, Month, OffsetDateTime, UtcOffset};

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The UTC offset in seconds that a TZif file gives for `at` (Unix seconds).
pub fn offset_at(tzif: &[u8], at: i64) -> Option<i32> {
    if tzif.get(..4)? != b"TZif" {
        return None;
    }
    let version = *tzif.get(4)?;
    let counts = |base: usize| -> Option<[usize; 6]> {
        let mut c = [0usize; 6];
        for (i, slot) in c.iter_mut().enumerate() {
            *slot = usize::try_from(be_u32(tzif, base + 20 + i * 4)?).ok()?;
        }
        Some(c)
    };
    let block_len = |c: [usize; 6], time_size: usize| -> usize {
        let [isut, isstd, leap, timecnt, typecnt, charcnt] = c;
        timecnt * time_size
            + timecnt
            + typecnt * 6
            + charcnt
            + leap * (time_size + 4)
            + isstd
            + isut
    };
    let v1 = counts(0)?;
    let (base, c, time_size) = if version >= b'2' {
        let second = 44 + block_len(v1, 4);
        (second, counts(second)?, 8)
    } else {
        (0, v1, 4)
    };
    let [_, _, _, timecnt, typecnt, _] = c;
    let data = base + 44;
    let times = data;
    let indices = times + timecnt * time_size;
    let types = indices + timecnt;
    let utoff = |t: usize| -> Option<i32> {
        if t >= typecnt {
            return None;
        }
        Some(be_u32(tzif, types + t * 6)? as i32)
    };
    let time_at = |i: usize| -> Option<i64> {
        let at = times + i * time_size;
        Some(if time_size == 8 {
            i64::from_be_bytes(tzif.get(at..at + 8)?.try_into().ok()?)
        } else {
            i64::from(be_u32(tzif, at)? as i32)
        })
    };
    let mut last = None;
    for i in 0..timecnt {
        if time_at(i)? <= at {
            last = Some(i);
        } else {
            break;
        }
    }
    if version >= b'2' && (timecnt == 0 || last == Some(timecnt - 1)) {
        let footer_start = data + block_len(c, 8);
        if let Some(footer) = tzif.get(footer_start..) {
            let footer = String::from_utf8_lossy(footer);
            let rule = footer.trim_matches('\n').lines().next().unwrap_or("");
            if let Some(offset) = posix_offset_at(rule, at) {
                return Some(offset);
            }
        }
    }
    match last {
        Some(i) => utoff(usize::from(*tzif.get(indices + i)?)),
        None => utoff(0),
    }
}

/// Reads `[+-]hh[:mm[:ss]]` as seconds; returns it and the rest.
fn hms(s: &str) -> Option<(i64, &str)> {
    let (sign, s) = match s.as_bytes().first()? {
        b'-' => (-1, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(s.len());
    let mut secs = 0i64;
    for (i, part) in s[..end].split(':').enumerate() {
        if i > 2 || part.is_empty() || part.len() > 3 {
            return None;
        }
        secs += part.parse::<i64>().ok()? * [3600, 60, 1][i];
    }
    Some((sign * secs, &s[end..]))
}

/// Skips a zone abbreviation (`CET` or `<+03>`).
fn name(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix('<') {
        return Some(&rest[rest.find('>')? + 1..]);
    }
    let end = s
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    (end >= 3).then_some(&s[end..])
}

/// `Mm.w.d[/time]`: seconds since the start of `year` (local) when the rule fires.
fn rule_instant(rule: &str, year: i32) -> Option<i64> {
    let (date, time) = match rule.split_once('/') {
        Some((d, t)) => (d, hms(t)?.0),
        None => (rule, 7200),
    };
    let mut parts = date.strip_prefix('M')?.split('.');
    let month = Month::try_from(parts.next()?.parse::<u8>().ok()?).ok()?;
    let week: u8 = parts.next()?.parse().ok()?;
    let weekday: u8 = parts.next()?.parse().ok()?;
    if !(1..=5).contains(&week) || weekday > 6 {
        return None;
    }
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let mut day =
        1 + (weekday + 7 - first.weekday().number_days_from_sunday()) % 7 + (week - 1) * 7;
    while day > month.length(year) {
        day -= 7;
    }
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let start_of_year = Date::from_calendar_date(year, Month::January, 1).ok()?;
    Some(i64::from((date - start_of_year).whole_days() as i32) * 86400 + time)
}

/// The offset a POSIX TZ rule (`CET-1CEST,M3.5.0,M10.5.0/3`) gives at `at`. Only the `M` date
/// form is supported, which is what every zone uses.
pub fn posix_offset_at(rule: &str, at: i64) -> Option<i32> {
    let rest = name(rule)?;
    let (std, rest) = hms(rest)?;
    let std_offset = -std; // POSIX offsets count west of Greenwich
    if rest.is_empty() {
        return i32::try_from(std_offset).ok();
    }
    let rest = name(rest)?;
    let (dst_offset, rest) = match rest.starts_with(',') {
        true => (std_offset + 3600, rest),
        false => {
            let (d, r) = hms(rest)?;
            (-d, r)
        }
    };
    let mut rules = rest.strip_prefix(',')?.split(',');
    let (start, end) = (rules.next()?, rules.next()?);
    let year = OffsetDateTime::from_unix_timestamp(at)
        .ok()?
        .to_offset(UtcOffset::from_whole_seconds(std_offset as i32).ok()?)
        .year();
    let year_start = Date::from_calendar_date(year, Month::January, 1)
        .ok()?
        .midnight()
        .assume_utc()
        .unix_timestamp();
    let dst_start = year_start + rule_instant(start, year)? - std_offset;
    let dst_end = year_start + rule_instant(end, year)? - dst_offset;
    let in_dst = if dst_start < dst_end {
        dst_start <= at && at < dst_end
    } else {
        !(dst_end <= at && at < dst_start)
    };
    i32::try_from(if in_dst { dst_offset } else { std_offset }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ts(t: OffsetDateTime) -> i64 {
        t.unix_timestamp()
    }

    #[test]
    fn posix_rules() {
        let berlin = "CET-1CEST,M3.5.0,M10.5.0/3";
        assert_eq!(
            posix_offset_at(berlin, ts(datetime!(2026-01-15 12:00 UTC))),
            Some(3600)
        );
        assert_eq!(
            posix_offset_at(berlin, ts(datetime!(2026-07-15 12:00 UTC))),
            Some(7200)
        );
        // 2026-03-29 01:00 UTC is 02:00 CET, the switch.
        assert_eq!(
            posix_offset_at(berlin, ts(datetime!(2026-03-29 00:59:59 UTC))),
            Some(3600)
        );
        assert_eq!(
            posix_offset_at(berlin, ts(datetime!(2026-03-29 01:00 UTC))),
            Some(7200)
        );
        let new_york = "EST5EDT,M3.2.0,M11.1.0";
        assert_eq!(
            posix_offset_at(new_york, ts(datetime!(2026-01-15 12:00 UTC))),
            Some(-5 * 3600)
        );
        assert_eq!(
            posix_offset_at(new_york, ts(datetime!(2026-07-15 12:00 UTC))),
            Some(-4 * 3600)
        );
        let sydney = "AEST-10AEDT,M10.1.0,M4.1.0/3";
        assert_eq!(
            posix_offset_at(sydney, ts(datetime!(2026-01-15 12:00 UTC))),
            Some(11 * 3600)
        );
        assert_eq!(
            posix_offset_at(sydney, ts(datetime!(2026-07-15 12:00 UTC))),
            Some(10 * 3600)
        );
        assert_eq!(posix_offset_at("<+0530>-5:30", 0), Some(19800));
        assert_eq!(posix_offset_at("UTC0", 0), Some(0));
        assert_eq!(posix_offset_at("garbage", 0), None);
        assert_eq!(posix_offset_at("", 0), None);
    }

    /// A v2 TZif with one transition (to UTC+1 at t=1000) and a footer.
    pub(crate) fn tzif(footer: &str) -> Vec<u8> {
        let header = |timecnt: u32, typecnt: u32, charcnt: u32| {
            let mut h = b"TZif2".to_vec();
            h.extend_from_slice(&[0; 15]);
            for n in [0, 0, 0, timecnt, typecnt, charcnt] {
                h.extend_from_slice(&u32::to_be_bytes(n));
            }
            h
        };
        let mut out = header(0, 1, 4);
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(b"UTC\0");
        out.extend(header(1, 2, 8));
        out.extend_from_slice(&1000i64.to_be_bytes());
        out.push(1);
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&[0, 0, 0x0e, 0x10, 0, 4]);
        out.extend_from_slice(b"UTC\0CET\0");
        out.extend_from_slice(format!("\n{footer}\n").as_bytes());
        out
    }

    #[test]
    fn tzif_transitions_then_footer() {
        let file = tzif("CET-1CEST,M3.5.0,M10.5.0/3");
        assert_eq!(offset_at(&file, 999), Some(0));
        assert_eq!(
            offset_at(&file, ts(datetime!(2026-07-15 12:00 UTC))),
            Some(7200)
        );
        assert_eq!(
            offset_at(&file, ts(datetime!(2026-01-15 12:00 UTC))),
            Some(3600)
        );
        let no_footer = tzif("");
        assert_eq!(offset_at(&no_footer, 5000), Some(3600));
        assert_eq!(offset_at(b"TZif2", 0), None);
        assert_eq!(offset_at(b"nope", 0), None);
    }
}
