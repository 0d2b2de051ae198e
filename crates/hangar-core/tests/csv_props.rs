//! Whatever the bytes, reading and checking never panic.

#[path = "csv_support.rs"]
mod support;

use hangar_core::csv::*;
use proptest::prelude::*;
use support::*;

fn read_everything(bytes: &[u8], intune: bool) {
    let report = check_reader(bytes, "fuzz.csv", &CheckOptions { intune });
    // Every finding names the file, and a row count never exceeds the lines.
    assert!(report.findings.iter().all(|f| f.file == "fuzz.csv"));
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    assert!(report.summary.rows <= lines);
    for finding in &report.findings {
        if let Some(line) = finding.line {
            assert!(
                line >= 1 && line <= lines,
                "{finding} in a {lines}-line input"
            );
        }
    }
    if let Ok(reader) = Reader::new(bytes, "fuzz.csv", ReadOptions { intune }) {
        for row in reader.flatten() {
            assert!(
                row.line >= 2 && row.line <= lines,
                "line {} of {lines}",
                row.line
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), intune: bool) {
        read_everything(&bytes, intune);
    }

    /// Past the header, so the row paths see the noise too.
    #[test]
    fn arbitrary_rows_never_panic(
        rows in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8),
        bom in 0..4u8,
        intune: bool,
    ) {
        let mut text = format!("{HEADER},Group Tag,Assigned User\r\n").into_bytes();
        for row in rows {
            text.extend(row);
            text.extend(b"\r\n");
        }
        let bytes = match bom {
            0 => text,
            1 => [&[0xEF, 0xBB, 0xBF][..], &text].concat(),
            2 => [&[0xFF, 0xFE][..], &text].concat(),
            _ => [&[0xFE, 0xFF][..], &text].concat(),
        };
        read_everything(&bytes, intune);
    }

    /// Real rows with bytes flipped.
    #[test]
    fn mutated_real_rows_never_panic(at in 0usize..4200, byte: u8) {
        let (serial, hash) = fixture_row("dell-latitude-5530-winpe");
        let mut bytes = crlf(&[HEADER.to_string(), format!("{serial},,{hash}")]).into_bytes();
        let at = at % bytes.len();
        bytes[at] = byte;
        read_everything(&bytes, false);
    }
}
