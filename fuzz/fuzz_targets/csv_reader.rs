//! Any bytes as an import file, in normal and Intune mode: no panic, and every finding names a line
//! that exists.
#![no_main]

use hangar_core::csv::{check_reader, CheckOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Every line ending (LF, CR, CRLF, in any encoding) contains one of these bytes.
    let lines = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64 + 1;
    for intune in [false, true] {
        let options = CheckOptions { intune };
        let report = check_reader(data, "fuzz.csv", &options);
        for finding in &report.findings {
            if let Some(line) = finding.line {
                assert!(line <= lines, "finding on line {line} of a {lines}-line input");
            }
        }
    }
});
