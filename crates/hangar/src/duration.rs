//! Durations on the command line and in the config file: `30d`, `12h`, `90m`, `3600s` or `45`
//! (seconds).

use std::time::Duration;

pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim().to_ascii_lowercase();
    let bad =
        || format!("'{text}' is not a duration: use 30d, 12h, 90m, 3600s or a number of seconds");
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let unit_secs = match unit.trim() {
        "d" => 86_400,
        "h" => 3600,
        "m" => 60,
        "s" | "" => 1,
        _ => return Err(bad()),
    };
    match n.checked_mul(unit_secs) {
        Some(0) => Err(format!("'{text}': a duration must be longer than 0")),
        Some(secs) => Ok(Duration::from_secs(secs)),
        None => Err(format!("'{text}' is too long")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_errors() {
        assert_eq!(parse("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse(" 90M "), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("3600s"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("45"), Ok(Duration::from_secs(45)));
        assert!(parse("0m").unwrap_err().contains("longer than 0"));
        assert!(parse("10 minutes").unwrap_err().contains("not a duration"));
        assert!(parse("m").is_err());
        assert!(parse("99999999999999999999d").is_err());
    }
}
