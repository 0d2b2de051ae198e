//! Arbitrary input never panics the decoder; built hashes decode to exactly what was built.

use hwhash::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3100)) {
        let _ = decode_bytes(&bytes);
        let _ = inspect_bytes(&bytes);
        let _ = validate_bytes_at(&bytes, time::OffsetDateTime::UNIX_EPOCH);
    }

    #[test]
    fn arbitrary_records_in_a_valid_frame_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2900)) {
        // A correct frame around random records exercises every record parser.
        let mut b = vec![0u8; HASH_LEN];
        b[0..2].copy_from_slice(&MAGIC);
        let tl = 4 + body.len();
        b[2..4].copy_from_slice(&(tl as u16).to_le_bytes());
        b[4..tl].copy_from_slice(&body);
        b[tl..tl + 4].copy_from_slice(&TRAILER);
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&b[..tl]);
        b[tl + 4..tl + 36].copy_from_slice(&digest);
        if let Ok(hash) = decode_bytes(&b) {
            // Whatever decodes re-encodes exactly.
            prop_assert_eq!(hash.to_bytes().unwrap(), b.clone());
            let _ = Report::of(&hash);
            let _ = check(&hash, time::OffsetDateTime::UNIX_EPOCH);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,4100}") {
        let _ = decode(&text);
        let _ = validate(&text);
    }

    #[test]
    fn built_hashes_decode_to_what_was_built(hash in arb_hash()) {
        let bytes = hash.to_bytes().unwrap();
        prop_assert_eq!(bytes.len(), HASH_LEN);
        let decoded = decode_bytes(&bytes).unwrap();
        prop_assert_eq!(&decoded, &hash);
        prop_assert_eq!(decoded.to_base64().unwrap(), hash.to_base64().unwrap());
    }

    #[test]
    fn builder_fleets_are_distinct_and_valid(serial in "[A-Z0-9]{6,12}", other in "[A-Z0-9]{6,12}") {
        prop_assume!(serial != other);
        let a = Builder::new().serial(&serial).manufacturer("Contoso").model("M1").tpm().build();
        let b = Builder::new().serial(&other).manufacturer("Contoso").model("M1").tpm().build();
        let v = validate(a.to_base64().unwrap());
        prop_assert!(!v.has_errors(), "{:?}", v.findings);
        prop_assert!(!IdentityKeys::of(&a).overlaps(&IdentityKeys::of(&b)));
        let decoded = decode(a.to_base64().unwrap()).unwrap();
        prop_assert_eq!(decoded.serial().unwrap(), serial);
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn arb_record() -> impl Strategy<Value = Record> {
    let version = (any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()).prop_map(
        |(major, minor, build, revision)| Version {
            major,
            minor,
            build,
            revision,
        },
    );
    prop_oneof![
        (
            version.clone(),
            version,
            any::<u32>(),
            any::<i8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            bytes(4)
        )
            .prop_map(
                |(
                    tool_build,
                    os_build,
                    collected_seconds,
                    local_bias,
                    os_type,
                    os_architecture,
                    tool_version,
                    extra,
                )| {
                    Record::Os(OsInfo {
                        tool_build,
                        os_build,
                        collected_seconds,
                        local_bias,
                        os_type: OsType(os_type),
                        os_architecture,
                        tool_version,
                        extra,
                    })
                }
            ),
        (
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<[u8; 3]>(),
            bytes(4)
        )
            .prop_map(
                |(a, packages, cores, threads, hyper_threading, reserved, extra)| Record::Processor(
                    Processor {
                        architecture: CpuArchitecture(a),
                        packages,
                        cores,
                        threads,
                        hyper_threading,
                        reserved,
                        extra
                    }
                )
            ),
        (
            any::<u64>(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            bytes(4)
        )
            .prop_map(|(capacity_gb, bus, seek_penalty, trim, extra)| {
                Record::Disk(Disk {
                    capacity_gb,
                    bus_type: BusType(bus),
                    seek_penalty,
                    trim,
                    extra,
                })
            }),
        (any::<u32>(), any::<[u8; 6]>(), bytes(16), bytes(4)).prop_map(
            |(medium, mac, enumerator_raw, extra)| {
                Record::NetworkAdapter(NetworkAdapter {
                    medium: PhysicalMedium(medium),
                    mac,
                    enumerator_raw,
                    extra,
                })
            }
        ),
        (
            any::<u32>(),
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            bytes(40),
            bytes(4)
        )
            .prop_map(|(status, method, flag, reserved, id, extra)| {
                Record::OfflineDeviceId(OfflineDeviceId {
                    status,
                    method: OfflineIdMethod(method),
                    flag,
                    reserved,
                    id,
                    extra,
                })
            }),
        (any::<[u8; 16]>(), bytes(4))
            .prop_map(|(bytes, extra)| Record::SmbiosUuid(SmbiosUuid { bytes, extra })),
        bytes(300).prop_map(Record::TpmEkPub),
        (
            proptest::collection::vec((any::<u8>(), any::<u16>(), any::<u16>()), 0..6),
            bytes(3)
        )
            .prop_map(|(c, extra)| {
                Record::CoreClasses(CoreClasses {
                    classes: c
                        .into_iter()
                        .map(|(efficiency_class, cores, logical_processors)| CoreClass {
                            efficiency_class,
                            cores,
                            logical_processors,
                        })
                        .collect(),
                    extra,
                })
            }),
        (0..TextField::ALL.len(), ".{0,40}")
            .prop_map(|(i, s)| Record::Text(TextRecord::new(TextField::ALL[i], &s))),
        (100u16..200, bytes(50)).prop_map(|(kind, bytes)| Record::Raw { kind, bytes }),
    ]
}

fn arb_hash() -> impl Strategy<Value = HardwareHash> {
    proptest::collection::vec(arb_record(), 0..12).prop_map(|records| HardwareHash { records })
}
