//! Any bytes, as raw hash bytes and as base64 text: no panic, and whatever decodes re-encodes exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = time_now();
    if let Ok(hash) = hwhash::decode_bytes(data) {
        let bytes = hash.to_bytes().expect("a decoded hash re-encodes");
        assert_eq!(bytes, data, "re-encoding changed the bytes");
        let _ = hwhash::Report::of(&hash);
        let _ = hwhash::IdentityKeys::of(&hash);
    }
    let _ = hwhash::inspect_bytes(data);
    let _ = hwhash::validate_bytes_at(data, now);
    let _ = hwhash::decode(data);
    let _ = hwhash::validate_at(data, now);
});

fn time_now() -> hwhash::OffsetDateTime {
    hwhash::OffsetDateTime::UNIX_EPOCH
}
