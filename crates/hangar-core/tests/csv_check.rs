//! Reading and checking import files: real fixtures first, then every way people get them wrong.

#[path = "csv_support.rs"]
mod support;

use hangar_core::csv::*;
use support::*;

fn check(bytes: &[u8], intune: bool) -> FileReport {
    check_reader(bytes, "devices.csv", &CheckOptions { intune })
}

/// (line, code) of every finding, in order.
fn codes(report: &FileReport) -> Vec<(Option<u64>, Code)> {
    report.findings.iter().map(|f| (f.line, f.code)).collect()
}

fn only(report: &FileReport, code: Code) -> &Finding {
    let found: Vec<&Finding> = report.findings.iter().filter(|f| f.code == code).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {code}: {:#?}",
        report.findings
    );
    found[0]
}

fn rows(bytes: &[u8]) -> (Vec<Row>, Encoding) {
    let mut reader =
        Reader::new(bytes, "devices.csv", ReadOptions::default()).expect("header reads");
    let rows: Vec<Row> = reader
        .by_ref()
        .collect::<Result<_, _>>()
        .expect("rows read");
    (rows, reader.encoding())
}

#[test]
fn every_fixture_checks_clean_in_both_modes() {
    for path in fixture_files() {
        for intune in [false, true] {
            let report = check_file(&path, &CheckOptions { intune });
            assert_eq!(report.summary.rows, 1, "{}", path.display());
            assert_eq!(
                report.summary.valid_rows,
                1,
                "{}: {:#?}",
                path.display(),
                report.findings
            );
            assert_eq!(
                (report.summary.errors, report.summary.warnings),
                (0, 0),
                "{:#?}",
                report.findings
            );
            assert_eq!(report.encoding, Some(Encoding::Ascii));
            let empty_serial = path.to_string_lossy().contains("qemu");
            let expected: Vec<(Option<u64>, Code)> = if empty_serial {
                vec![(Some(2), Code::EmptySerial)]
            } else {
                vec![]
            };
            assert_eq!(codes(&report), expected, "{}", path.display());
        }
    }
}

#[test]
fn empty_serial_info_names_the_placeholder() {
    let report = check_file(
        &fixture_dir().join("qemu-q35-swtpm.csv"),
        &CheckOptions::default(),
    );
    let f = only(&report, Code::EmptySerial);
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.column, Some("Device Serial Number"));
    assert!(f.message.contains("SMBIOS_STRING_INDEX_0"), "{}", f.message);
}

#[test]
fn all_devices_utf16le_reads_all_eleven() {
    let path = fixture_dir().join("all-devices.utf16le.csv");
    let report = check_file(&path, &CheckOptions::default());
    assert_eq!(report.encoding, Some(Encoding::Utf16Le));
    assert_eq!(report.summary.rows, 11);
    assert_eq!(report.summary.valid_rows, 11, "{:#?}", report.findings);
    assert_eq!(report.summary.errors + report.summary.warnings, 0);
    assert_eq!(report.summary.by_code.get(&Code::EmptySerial), Some(&2));

    let mut reader = Reader::open(&path, ReadOptions::default()).expect("opens");
    let first = reader.next().expect("a row").expect("reads");
    assert_eq!(first.line, 2);
    assert_eq!(first.serial, "SK0AE5WV");
    let hash = first.hash.as_ref().expect("decodes");
    assert_eq!(hash.serial().as_deref(), Some("SK0AE5WV"));

    // Intune wants ANSI: the BOM alone is an error on line 1, the rows are still checked.
    let strict = check_file(&path, &CheckOptions { intune: true });
    let f = only(&strict, Code::NotAnsiFile);
    assert_eq!(f.line, Some(1));
    assert!(
        f.message.contains("UTF-16LE") && f.message.contains("ANSI"),
        "{}",
        f.message
    );
    assert_eq!(strict.summary.rows, 11);
}

#[test]
fn every_encoding_reads_the_same_rows() {
    let (serial, hash) = fixture_row("hp-elitebook-840-g8");
    let text = crlf(&[
        format!("{HEADER},Group Tag"),
        format!("{serial},,{hash},Café"),
    ]);
    let mut ansi = text.replace("Café", "Caf").into_bytes();
    let at = ansi.len() - 2;
    ansi.insert(at, 0xE9);
    let bom = [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat();
    for (bytes, encoding) in [
        (text.as_bytes().to_vec(), Encoding::Utf8),
        (bom, Encoding::Utf8Bom),
        (utf16le_bom(&text), Encoding::Utf16Le),
        (utf16be_bom(&text), Encoding::Utf16Be),
        (ansi, Encoding::Windows1252),
    ] {
        let (rows, detected) = rows(&bytes);
        assert_eq!(detected, encoding);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].serial, serial);
        assert_eq!(rows[0].group_tag.as_deref(), Some("Café"), "{encoding:?}");
        assert!(rows[0].hash.is_ok());

        let report = check(&bytes, false);
        assert_eq!(
            report.summary.valid_rows, 1,
            "{encoding:?}: {:#?}",
            report.findings
        );
        assert_eq!(report.encoding, Some(encoding));
        let strict = check(&bytes, true);
        let ansi_ok = matches!(encoding, Encoding::Windows1252);
        assert_eq!(
            strict.findings.iter().any(|f| f.code == Code::NotAnsiFile),
            !ansi_ok,
            "{encoding:?}"
        );
    }
}

#[test]
fn line_ends_and_quoting_do_not_change_rows() {
    let a = synthetic("SER-A");
    let b = synthetic("SER-B");
    let variants = [
        format!("{HEADER}\r\nSER-A,,{a}\r\nSER-B,,{b}\r\n"),
        format!("{HEADER}\nSER-A,,{a}\nSER-B,,{b}"),
        format!("\"Device Serial Number\",\"Windows Product ID\",\"Hardware Hash\"\r\n\"SER-A\",\"\",\"{a}\"\r\n\"SER-B\",\"\",\"{b}\"\r\n"),
    ];
    for text in &variants {
        let (rows, _) = rows(text.as_bytes());
        let got: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.serial.as_str())).collect();
        assert_eq!(got, [(2, "SER-A"), (3, "SER-B")]);
        assert!(rows.iter().all(|r| r.hash.is_ok()));
        assert_eq!(check(text.as_bytes(), false).summary.errors, 0);
    }
    // Intune allows no quotation marks at all; each quoted field is named.
    let strict = check(variants[2].as_bytes(), true);
    let quotes: Vec<(Option<u64>, Option<&str>)> = strict
        .findings
        .iter()
        .filter(|f| f.code == Code::QuoteCharacter)
        .map(|f| (f.line, f.column))
        .collect();
    assert_eq!(quotes.len(), 9, "{quotes:?}");
    assert!(quotes.contains(&(Some(3), Some("Hardware Hash"))));
    // Quotes aside, the values were still understood.
    assert!(!strict
        .findings
        .iter()
        .any(|f| f.code == Code::InvalidHardwareHash));
}

#[test]
fn blank_lines_keep_physical_line_numbers() {
    let a = synthetic("SER-A");
    let text = format!("{HEADER}\r\n\r\n\r\nSER-A,,{a}\r\n,,\r\nSER-B,,notahash\r\n");
    let report = check(text.as_bytes(), false);
    assert_eq!(
        codes(&report),
        [
            (Some(5), Code::EmptyRow),
            (Some(6), Code::InvalidHardwareHash)
        ],
        "{:#?}",
        report.findings
    );
    assert_eq!(report.summary.rows, 3);
    assert_eq!(report.summary.valid_rows, 2);
}

#[test]
fn invalid_hash_is_802_with_the_decode_error() {
    let good = synthetic("SER-A");
    let truncated = &good[..3000];
    let text = format!("{HEADER}\r\nSER-A,,{truncated}\r\n,00330-80000-00000-AA123,\r\n");
    let report = check(text.as_bytes(), false);
    let f = only(&report, Code::InvalidHardwareHash);
    assert_eq!(
        (f.line, f.column, f.severity),
        (Some(2), Some("Hardware Hash"), Severity::Error)
    );
    let ztd = f.ztd_error.expect("a registry error");
    assert_eq!((ztd.name, ztd.code), ("InvalidZtdHardwareHash", Some(802)));
    assert!(
        f.message.contains("wrong size: 2250 bytes"),
        "{}",
        f.message
    );
    assert!(f.message.contains("Re-collect"), "{}", f.message);
    let missing = only(&report, Code::MissingHardwareHash);
    assert_eq!(missing.line, Some(3));
    // Row 3 has no serial either, and no hash to excuse it.
    assert!(report
        .findings
        .iter()
        .any(|f| f.code == Code::MissingSerial && f.line == Some(3)));
    assert_eq!(report.summary.valid_rows, 0);
    assert_eq!(
        format!("{f}").split(": error").next(),
        Some("devices.csv:2: Hardware Hash"),
        "{f}"
    );
}

#[test]
fn serial_mismatch_and_missing_serial() {
    let (serial, hash) = fixture_row("lenovo-thinkpad-x270");
    let text = crlf(&[
        HEADER.to_string(),
        format!("WRONG1,,{hash}"),
        format!(",,{hash}"),
    ]);
    let report = check(text.as_bytes(), false);
    let mismatch = only(&report, Code::SerialMismatch);
    assert_eq!(
        (mismatch.line, mismatch.severity),
        (Some(2), Severity::Warning)
    );
    assert!(mismatch.message.contains(&serial), "{}", mismatch.message);
    assert_eq!(mismatch.value.as_deref(), Some("WRONG1"));
    let missing = only(&report, Code::MissingSerial);
    assert_eq!(missing.line, Some(3));
    assert!(missing.message.contains(&serial));
    // Line 3 is also the same device as line 2.
    assert_eq!(only(&report, Code::DuplicateDevice).line, Some(3));
}

#[test]
fn duplicates_name_the_first_line() {
    let (serial, hash) = fixture_row("hp-probook-450-g5");
    // The same machine collected again later: a different hash text, the same identity.
    let other = synthetic("OTHER-1");
    let again = synthetic("OTHER-1");
    let text = crlf(&[
        HEADER.to_string(),
        format!("{serial},,{hash}"),
        format!("OTHER-1,,{other}"),
        format!("{serial},,{hash}"),
        format!("OTHER-1,,{again}"),
    ]);
    let report = check(text.as_bytes(), false);
    let dups: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::DuplicateDevice)
        .collect();
    assert_eq!(dups.len(), 2, "{:#?}", report.findings);
    assert_eq!(dups[0].line, Some(4));
    assert!(dups[0].message.contains("line 2"), "{}", dups[0].message);
    assert_eq!(dups[1].line, Some(5));
    assert!(dups[1].message.contains("line 3"), "{}", dups[1].message);
    assert_eq!(
        dups[0].ztd_error.map(|z| z.name),
        Some("ZtdDeviceDuplicated")
    );
    assert_eq!(report.summary.valid_rows, 2);

    // Two different fixtures are different devices.
    let (s2, h2) = fixture_row("hp-elitebook-650-g10");
    let text = crlf(&[
        HEADER.to_string(),
        format!("{serial},,{hash}"),
        format!("{s2},,{h2}"),
    ]);
    assert_eq!(check(text.as_bytes(), false).summary.errors, 0);
}

#[test]
fn assigned_user_must_be_a_upn_and_group_tag_short() {
    let hashes: Vec<String> = (1..=5).map(|i| synthetic(&format!("S{i}"))).collect();
    let long = "x".repeat(129);
    let text = crlf(&[
        format!("{HEADER},Group Tag,Assigned User"),
        format!("S1,,{},Sales,ann@contoso.com", hashes[0]),
        format!("S2,,{},Sales,ann contoso.com", hashes[1]),
        format!("S3,,{},Sales,ann@contoso", hashes[2]),
        format!("S4,,{},{long},", hashes[3]),
        format!("S5,,{},{},bob@fabrikam.co.uk", hashes[4], "y".repeat(128)),
    ]);
    let report = check(text.as_bytes(), false);
    assert_eq!(
        codes(&report),
        [
            (Some(3), Code::InvalidUpn),
            (Some(4), Code::InvalidUpn),
            (Some(5), Code::GroupTagTooLong)
        ],
        "{:#?}",
        report.findings
    );
    assert_eq!(report.findings[0].column, Some("Assigned User"));
    assert!(
        report.findings[0].message.contains("space"),
        "{}",
        report.findings[0].message
    );
    assert!(
        report.findings[1].message.contains("no dot"),
        "{}",
        report.findings[1].message
    );
    assert!(report.findings[2].message.contains("129 characters"));
    assert_eq!(check(text.as_bytes(), true).summary.errors, 3);
}

#[test]
fn order_id_is_the_group_tag() {
    let h = synthetic("S1");
    let text = crlf(&[
        "Device Serial Number,Windows Product ID,Hardware Hash,OrderID".to_string(),
        format!("S1,,{h},Lab"),
    ]);
    let (rows, _) = rows(text.as_bytes());
    assert_eq!(rows[0].group_tag.as_deref(), Some("Lab"));
    assert_eq!(check(text.as_bytes(), false).findings, []);
    let strict = check(text.as_bytes(), true);
    assert_eq!(codes(&strict), [(Some(1), Code::IntuneHeader)]);
    assert!(strict.findings[0].message.contains("\"Group Tag\""));
}

#[test]
fn partner_form_checks_manufacturer_and_model() {
    let (serial, hash) = fixture_row("hp-elitebook-650-g10");
    let decoded = hwhash::decode(&hash).expect("fixture decodes");
    let manufacturer = decoded.manufacturer().expect("has one").trim().to_string();
    let model = decoded.product_name().expect("has one").trim().to_string();
    let header =
        "Device Serial Number,Windows Product ID,Hardware Hash,Manufacturer name,Device model";
    let good = crlf(&[
        header.to_string(),
        format!("{serial},,{hash},{manufacturer},{model}"),
    ]);
    let (rows, _) = rows(good.as_bytes());
    assert_eq!(rows[0].manufacturer.as_deref(), Some(manufacturer.as_str()));
    assert_eq!(rows[0].model.as_deref(), Some(model.as_str()));
    assert_eq!(check(good.as_bytes(), false).findings, []);

    let lower = crlf(&[
        header.to_string(),
        format!("{serial},,{hash},{},{model}", manufacturer.to_lowercase()),
    ]);
    let report = check(lower.as_bytes(), false);
    let f = only(&report, Code::ManufacturerMismatch);
    assert_eq!(
        (f.line, f.column, f.severity),
        (Some(2), Some("Manufacturer name"), Severity::Warning)
    );

    let strict = check(good.as_bytes(), true);
    assert!(only(&strict, Code::IntuneHeader)
        .message
        .contains("partner form"));
}

#[test]
fn wrong_header_and_extra_column() {
    let h = synthetic("S1");
    let text = crlf(&[
        "Serial,Windows Product ID,Hash".to_string(),
        format!("S1,,{h}"),
    ]);
    let report = check(text.as_bytes(), false);
    assert_eq!(
        codes(&report),
        [
            (Some(1), Code::UnknownColumn),
            (Some(1), Code::UnknownColumn),
            (Some(1), Code::MissingColumn),
            (Some(1), Code::MissingColumn)
        ]
    );
    assert!(report.findings[2]
        .message
        .contains("\"Device Serial Number\""));
    assert!(report.findings[3].message.contains("\"Hardware Hash\""));
    assert_eq!(
        report.summary.rows, 0,
        "rows cannot be read without the columns"
    );

    let extra = crlf(&[format!("{HEADER},Notes"), format!("S1,,{h},hello")]);
    let report = check(extra.as_bytes(), false);
    let f = only(&report, Code::UnknownColumn);
    assert_eq!(f.line, Some(1));
    assert!(f.message.contains("column 4 \"Notes\""), "{}", f.message);
    assert_eq!(report.summary.valid_rows, 1, "rows are still checked");
}

#[test]
fn ragged_rows_say_how_many_fields() {
    let h = synthetic("S1");
    let h2 = synthetic("S2");
    let h3 = synthetic("S3");
    let text = crlf(&[
        HEADER.to_string(),
        format!("S1,{h}"),
        format!("S2,,{h2},extra"),
        format!("S3,,{h3},,"),
    ]);
    let report = check(text.as_bytes(), false);
    let ragged: Vec<(Option<u64>, Severity)> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::WrongFieldCount)
        .map(|f| (f.line, f.severity))
        .collect();
    assert_eq!(
        ragged,
        [
            (Some(2), Severity::Error),
            (Some(3), Severity::Error),
            (Some(4), Severity::Warning)
        ]
    );
    let first = &report.findings[0];
    assert!(
        first.message.contains("2 fields, the header 3"),
        "{}",
        first.message
    );
    assert!(first.message.contains("Hardware Hash"), "{}", first.message);
    // Trailing commas are an error for Intune.
    let strict = check(text.as_bytes(), true);
    assert!(strict
        .findings
        .iter()
        .any(|f| f.code == Code::WrongFieldCount
            && f.line == Some(4)
            && f.severity == Severity::Error));
}

#[test]
fn embedded_and_unclosed_quotes() {
    let h = synthetic("S1");
    let h2 = synthetic("S2");
    let embedded = crlf(&[
        HEADER.to_string(),
        format!("S1,,{h}"),
        format!("S\"2,,{h2}"),
    ]);
    let report = check(embedded.as_bytes(), false);
    let f = only(&report, Code::QuoteCharacter);
    assert_eq!((f.line, f.column), (Some(3), Some("Device Serial Number")));

    // An opening quote that closes two lines later swallows the line break.
    let unclosed = format!("{HEADER}\r\n\"S1,,{h}\r\nS2,,\"{h2}\r\nS3,,x\r\n");
    let report = check(unclosed.as_bytes(), false);
    let f = only(&report, Code::MultilineField);
    assert_eq!(f.line, Some(2));
    assert!(f.message.contains("lines 2 to 3"), "{}", f.message);
    assert!(report
        .findings
        .iter()
        .any(|f| f.code == Code::InvalidHardwareHash && f.line == Some(4)));

    // Never closed: the rest of the file would become one field; reading stops at the limit.
    let mut runaway = format!("{HEADER}\r\n\"S1,,");
    while runaway.len() as u64 <= MAX_RECORD_BYTES + 100_000 {
        runaway.push_str(&h);
        runaway.push_str("\r\n");
    }
    let report = check(runaway.as_bytes(), false);
    let f = only(&report, Code::RecordTooLong);
    assert_eq!(f.line, Some(2));
    assert!(f.message.contains("quotation mark"), "{}", f.message);
}

#[test]
fn intune_mode_row_limit() {
    let mut lines = vec![HEADER.to_string()];
    for i in 1..=501 {
        lines.push(format!("SER{i:04},,{}", synthetic(&format!("SER{i:04}"))));
    }
    let text = crlf(&lines);
    let strict = check(text.as_bytes(), true);
    assert_eq!(codes(&strict), [(Some(502), Code::TooManyRows)]);
    assert!(
        strict.findings[0].message.contains("at most 500"),
        "{}",
        strict.findings[0].message
    );
    assert_eq!(strict.summary.rows, 501);
    assert_eq!(strict.summary.valid_rows, 500);
    assert_eq!(check(text.as_bytes(), false).findings, []);
    let exactly_500 = crlf(&lines[..501]);
    assert_eq!(check(exactly_500.as_bytes(), true).findings, []);
}

#[test]
fn empty_file_header_only_and_binary() {
    for empty in [&b""[..], b"\xEF\xBB\xBF", b"\r\n\r\n", b"\xFF\xFE"] {
        let report = check(empty, false);
        assert_eq!(codes(&report), [(None, Code::EmptyFile)], "{empty:?}");
        assert!(report.findings[0].message.contains("Device Serial Number"));
    }
    let report = check(format!("{HEADER}\r\n").as_bytes(), false);
    assert_eq!(codes(&report), [(Some(1), Code::NoRows)]);
    assert_eq!(report.findings[0].severity, Severity::Warning);

    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0";
    let report = check(png, false);
    assert_eq!(
        codes(&report).iter().map(|c| c.1).collect::<Vec<_>>(),
        [Code::NotText]
    );
    assert!(report.has_errors());

    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
        .collect();
    let report = check(&garbage, false);
    assert_eq!(
        report.findings[0].code,
        Code::NotText,
        "{:#?}",
        report.findings
    );

    let utf16_no_bom: Vec<u8> = HEADER.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let report = check(&utf16_no_bom, false);
    let f = only(&report, Code::NotText);
    assert!(
        f.message.contains("UTF-16 without a byte-order mark"),
        "{}",
        f.message
    );
}

#[test]
fn intune_mode_rejects_utf8_text_at_its_line() {
    let h = synthetic("S1");
    let h2 = synthetic("S2");
    let text = crlf(&[
        format!("{HEADER},Group Tag"),
        format!("S1,,{h},Lab"),
        format!("S2,,{h2},Zürich"),
    ]);
    let strict = check(text.as_bytes(), true);
    assert_eq!(codes(&strict), [(Some(3), Code::NotAnsiFile)]);
    assert!(strict.findings[0].message.contains("ANSI"));
    assert_eq!(check(text.as_bytes(), false).findings, []);

    // Characters ANSI cannot hold are a warning in normal mode.
    let text = crlf(&[format!("{HEADER},Group Tag"), format!("S1,,{h},東京")]);
    let report = check(text.as_bytes(), false);
    let f = only(&report, Code::NotAnsi);
    assert_eq!(
        (f.line, f.column, f.severity),
        (Some(2), Some("Group Tag"), Severity::Warning)
    );
}

#[test]
fn quoted_commas_and_control_characters_are_named() {
    let h = synthetic("S1");
    let text = format!(
        "{HEADER},Group Tag\r\nS1,,{h},\"Sales, North\"\r\nS2,,{},Lab\u{7}\r\n",
        synthetic("S2")
    );
    let report = check(text.as_bytes(), false);
    assert_eq!(
        codes(&report),
        [
            (Some(2), Code::CommaInValue),
            (Some(3), Code::ControlCharacter)
        ]
    );
    assert_eq!(report.findings[1].column, Some("Group Tag"));
}

#[test]
fn summary_counts_by_code() {
    let h = synthetic("S1");
    let text = crlf(&[
        HEADER.to_string(),
        format!("S1,,{h}"),
        "S2,,bad".to_string(),
        format!("X,,{h}"),
    ]);
    let s = check(text.as_bytes(), false).summary;
    assert_eq!(
        (s.files, s.rows, s.valid_rows, s.errors, s.warnings),
        (1, 3, 1, 2, 1)
    );
    assert_eq!(s.by_code.get(&Code::InvalidHardwareHash), Some(&1));
    assert_eq!(s.by_code.get(&Code::DuplicateDevice), Some(&1));
    assert_eq!(s.by_code.get(&Code::SerialMismatch), Some(&1));
    let json = serde_json::to_value(&s).expect("serialises");
    assert_eq!(json["byCode"]["invalid-hardware-hash"], 1);
    assert_eq!(json["validRows"], 1);
}

#[test]
fn unreadable_file_is_named() {
    let report = check_file(
        std::path::Path::new("/nonexistent/devices.csv"),
        &CheckOptions::default(),
    );
    assert_eq!(codes(&report), [(None, Code::FileUnreadable)]);
    assert_eq!(report.findings[0].file, "/nonexistent/devices.csv");
    assert!(format!("{}", report.findings[0])
        .starts_with("/nonexistent/devices.csv: error file-unreadable"));
}

#[test]
fn a_quote_left_open_to_the_end_of_the_file_is_reported_on_its_own_line() {
    // The open quote swallows the file's last CRLF; the row is still line 2, not the header's.
    for bytes in [
        &b"Device Serial Number,Windows Product ID,Hardware Hash\r\n\"\x01\r\n"[..],
        &b"Device Serial Number,Windows Product ID,Hardware Hash\r\n\"SN-1,,\r\n"[..],
        &b"Device Serial Number,Windows Product ID,Hardware Hash\n\"SN-1\n"[..],
    ] {
        let report = check(bytes, false);
        let multiline = only(&report, Code::MultilineField);
        assert_eq!(multiline.line, Some(2), "{multiline}");
        let (rows, _) = rows(bytes);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
    }
}
