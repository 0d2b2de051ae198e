//! Records 13 (TPM version) and 25 (TPM endorsement key) from the TPM 2.0 itself.
//!
//! Two raw TPM 2.0 commands are sent through the kernel's resource manager device `/dev/tpmrm0`
//! (write the command, read the response; all integers big-endian):
//!
//! - `TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES, TPM_PT_FAMILY_INDICATOR)` for the family, level,
//!   revision, manufacturer and firmware version that make up Windows' record 13 text;
//! - `TPM2_ReadPublic(0x81010001)`, the persistent handle of the RSA 2048 endorsement key that
//!   Windows provisions, whose `unique.rsa` (the 256-byte modulus) is record 25.
//!
//! The EK is never created here (no `TPM2_CreatePrimary`): a TPM without a persisted EK is reported.
//! Every response is bounds-checked; a short, damaged or unexpected answer is reported, never
//! trusted.
//!
//! Record 13's format, `TPM-Version:2.0 -Level:0-Revision:1.38-VendorID:'IFX '-Firmware:458837.1166080`,
//! was matched against the real hashes in the fixtures:
//! - `TPM-Version:` is the 4 characters of `TPM_PT_FAMILY_INDICATOR` (`"2.0\0"`), then `-Level:`
//!   and `TPM_PT_LEVEL` in decimal. The space before `-Level` is inferred to be the family's NUL
//!   written as a space, as the manufacturer's is (below).
//! - `-Revision:` is `TPM_PT_REVISION` / 100, a dot, and the remainder (138 → `1.38`). Every
//!   revision seen has a two-digit remainder; a single digit is zero-padded (105 → `1.05`), a guess.
//! - `-VendorID:` is the 4 characters of `TPM_PT_MANUFACTURER` in quotes, NUL written as a space:
//!   swtpm's manufacturer is `"IBM"` (`0x49424D00`) and its hash says `'IBM '`.
//! - `-Firmware:` is `TPM_PT_FIRMWARE_VERSION_1`, a dot, `TPM_PT_FIRMWARE_VERSION_2`, both whole
//!   32-bit values in decimal. swtpm (libtpms) has the constants `FIRMWARE_V1 = 0x20191023` and
//!   `FIRMWARE_V2 = 0x00163636`, and its hash says `538513443.1455670`, which is exactly those.
//!   The hardware TPMs agree with their vendors' version numbers: Nuvoton `0x00070002.0x00030001`
//!   is 7.2.3.1 (16-bit halves), Infineon `0x00070055.0x0011CB00` is 7.85.4555 (4555 = `0x11CB`,
//!   the middle bytes of the second word). The hashes keep both words whole, and so does this.

use super::{io_reason, Ctx};
use std::io;
use std::path::Path;

/// The resource manager device, relative to the collection root.
pub const DEVICE: &str = "dev/tpmrm0";

/// The persistent handle of the RSA endorsement key (TCG EK credential profile; Windows' default).
pub const EK_HANDLE: u32 = 0x8101_0001;

/// What is said when there is no key at [`EK_HANDLE`].
pub const NO_EK: &str = "no EK at persistent handle 0x81010001; provision it (tpm2_createek -c 0x81010001) or let Windows do so";

const TPM_ST_NO_SESSIONS: u16 = 0x8001;
const TPM_ST_SESSIONS: u16 = 0x8002;
const TPM_CC_READ_PUBLIC: u32 = 0x0000_0173;
const TPM_CC_GET_CAPABILITY: u32 = 0x0000_017A;
const TPM_CAP_TPM_PROPERTIES: u32 = 6;
const TPM_ALG_RSA: u16 = 0x0001;
const TPM_ALG_NULL: u16 = 0x0010;
const TPM_ALG_RSAES: u16 = 0x0015;
/// The largest response the kernel's TPM driver hands back (`TPM_BUFSIZE`).
const MAX_RESPONSE: usize = 4096;

pub const TPM_PT_FAMILY_INDICATOR: u32 = 0x100;
pub const TPM_PT_LEVEL: u32 = 0x101;
pub const TPM_PT_REVISION: u32 = 0x102;
pub const TPM_PT_MANUFACTURER: u32 = 0x105;
pub const TPM_PT_FIRMWARE_VERSION_1: u32 = 0x10B;
pub const TPM_PT_FIRMWARE_VERSION_2: u32 = 0x10C;

/// Sends one TPM command and returns the TPM's response.
pub trait TpmTransport {
    fn transact(&mut self, command: &[u8]) -> io::Result<Vec<u8>>;
}

/// A TPM character device such as `/dev/tpmrm0`.
#[derive(Debug)]
pub struct DeviceTransport {
    file: std::fs::File,
}

impl DeviceTransport {
    /// Opens the device for reading and writing. Anything but a character device is refused, so
    /// that commands are never written into an ordinary file.
    pub fn open(path: &Path) -> io::Result<DeviceTransport> {
        if !is_char_device(&std::fs::metadata(path)?) {
            return Err(not_a_device());
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        if !is_char_device(&file.metadata()?) {
            return Err(not_a_device());
        }
        Ok(DeviceTransport { file })
    }
}

fn not_a_device() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "not a character device; sending TPM commands to anything else is not supported",
    )
}

#[cfg(unix)]
fn is_char_device(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_char_device()
}

#[cfg(not(unix))]
fn is_char_device(_meta: &std::fs::Metadata) -> bool {
    false
}

impl TpmTransport for DeviceTransport {
    fn transact(&mut self, command: &[u8]) -> io::Result<Vec<u8>> {
        use std::io::{Read, Write};
        // The driver takes a whole command in one write and gives the whole response in one read.
        let written = self.file.write(command)?;
        if written != command.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("the TPM took {written} of {} command bytes", command.len()),
            ));
        }
        let mut response = vec![0u8; MAX_RESPONSE];
        let n = self.file.read(&mut response)?;
        response.truncate(n);
        Ok(response)
    }
}

/// Why a TPM command gave no usable answer.
#[derive(Debug)]
pub enum TpmError {
    /// The device could not be written or read.
    Io(io::Error),
    /// The response does not parse; says what is wrong with it.
    Malformed(String),
    /// The TPM answered with this response code.
    Code(u32),
    /// There is no key at [`EK_HANDLE`].
    NoEk,
    /// The key at [`EK_HANDLE`] is not an RSA 2048 key; says what it is.
    NotRsa2048(String),
}

impl std::fmt::Display for TpmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TpmError::Io(e) => write!(f, "{}", io_reason(e)),
            TpmError::Malformed(m) => write!(f, "malformed response: {m}"),
            TpmError::Code(rc) => write!(f, "the TPM answered with response code 0x{rc:03X}"),
            TpmError::NoEk => f.write_str(NO_EK),
            TpmError::NotRsa2048(what) => write!(
                f,
                "the key at persistent handle 0x81010001 is {what}; the hash holds an RSA 2048 EK modulus"
            ),
        }
    }
}

impl std::error::Error for TpmError {}

/// A bounds-checked big-endian reader.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], TpmError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| {
                TpmError::Malformed(format!(
                    "{what} needs {n} bytes at offset {}, {} left",
                    self.pos,
                    self.buf.len().saturating_sub(self.pos)
                ))
            })?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn u8(&mut self, what: &str) -> Result<u8, TpmError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, TpmError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, TpmError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A TPM2B: a u16 size, then that many bytes.
    fn tpm2b(&mut self, what: &str) -> Result<&'a [u8], TpmError> {
        let size = self.u16(what)?;
        self.take(usize::from(size), what)
    }
}

/// A command without sessions: header, then the parameters.
fn command(code: u32, params: &[u32]) -> Vec<u8> {
    let size = 10 + 4 * params.len();
    let mut cmd = Vec::with_capacity(size);
    cmd.extend_from_slice(&TPM_ST_NO_SESSIONS.to_be_bytes());
    cmd.extend_from_slice(&u32::try_from(size).unwrap_or(u32::MAX).to_be_bytes());
    cmd.extend_from_slice(&code.to_be_bytes());
    for p in params {
        cmd.extend_from_slice(&p.to_be_bytes());
    }
    cmd
}

/// Checks a response's header; returns the response code and a reader past the header.
fn response<'a>(resp: &'a [u8], name: &str) -> Result<(u32, Reader<'a>), TpmError> {
    if resp.is_empty() {
        return Err(TpmError::Malformed(format!("no answer to {name}")));
    }
    let mut r = Reader::new(resp);
    let tag = r.u16("the response tag")?;
    let size = r.u32("the response size")?;
    let rc = r.u32("the response code")?;
    if usize::try_from(size).ok() != Some(resp.len()) {
        return Err(TpmError::Malformed(format!(
            "the {name} response says it is {size} bytes but is {}",
            resp.len()
        )));
    }
    if tag != TPM_ST_NO_SESSIONS && tag != TPM_ST_SESSIONS {
        return Err(TpmError::Malformed(format!(
            "the {name} response has tag 0x{tag:04X}"
        )));
    }
    Ok((rc, r))
}

/// True for the response codes that mean "no object at this handle": TPM_RC_HANDLE (format one,
/// naming a handle: P = 0, N = 0 to 7) and TPM_RC_REFERENCE_H0.
fn is_missing_handle(rc: u32) -> bool {
    let format_one_handle = rc & 0xFFFF_F8C0 == 0x80;
    (format_one_handle && rc & 0x3F == 0x0B) || rc == 0x910
}

/// The fixed properties Windows' record 13 is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Properties {
    pub family: u32,
    pub level: u32,
    pub revision: u32,
    pub manufacturer: u32,
    pub firmware_1: u32,
    pub firmware_2: u32,
}

/// The 4 characters packed in a TPM property, NUL written as a space (as Windows does in record 13);
/// other bytes that are not printable ASCII as `?`.
fn chars(value: u32) -> String {
    value
        .to_be_bytes()
        .iter()
        .map(|&b| match b {
            0 => ' ',
            b' '..=b'~' => char::from(b),
            _ => '?',
        })
        .collect()
}

impl Properties {
    /// Record 13's text, in Windows' format.
    pub fn version_text(&self) -> String {
        format!(
            "TPM-Version:{}-Level:{}-Revision:{}.{:02}-VendorID:'{}'-Firmware:{}.{}",
            chars(self.family),
            self.level,
            self.revision / 100,
            self.revision % 100,
            chars(self.manufacturer),
            self.firmware_1,
            self.firmware_2,
        )
    }
}

/// Reads the record 13 properties with `TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES)`, following
/// `moreData` for a few rounds if the TPM answers in pieces.
pub fn read_properties(t: &mut dyn TpmTransport) -> Result<Properties, TpmError> {
    const WANTED: [u32; 6] = [
        TPM_PT_FAMILY_INDICATOR,
        TPM_PT_LEVEL,
        TPM_PT_REVISION,
        TPM_PT_MANUFACTURER,
        TPM_PT_FIRMWARE_VERSION_1,
        TPM_PT_FIRMWARE_VERSION_2,
    ];
    // 0x100 to 0x10C in one answer.
    const PROPERTY_COUNT: u32 = 16;
    let mut found: [Option<u32>; 6] = [None; 6];
    let mut next = TPM_PT_FAMILY_INDICATOR;
    for _ in 0..8 {
        let cmd = command(
            TPM_CC_GET_CAPABILITY,
            &[TPM_CAP_TPM_PROPERTIES, next, PROPERTY_COUNT],
        );
        let resp = t.transact(&cmd).map_err(TpmError::Io)?;
        let (rc, mut r) = response(&resp, "TPM2_GetCapability")?;
        if rc != 0 {
            return Err(TpmError::Code(rc));
        }
        let more = r.u8("moreData")?;
        let capability = r.u32("the capability")?;
        if capability != TPM_CAP_TPM_PROPERTIES {
            return Err(TpmError::Malformed(format!(
                "asked for capability 6, got {capability}"
            )));
        }
        let count = r.u32("the property count")?;
        let mut last = None;
        for _ in 0..count {
            let property = r.u32("a property")?;
            let value = r.u32("a property value")?;
            if let Some(i) = WANTED.iter().position(|&p| p == property) {
                found[i] = Some(value);
            }
            last = Some(property);
        }
        if found.iter().all(Option::is_some) || more == 0 {
            break;
        }
        match last.and_then(|p| p.checked_add(1)) {
            Some(p) if p > next => next = p,
            _ => break, // no progress
        }
    }
    let get = |i: usize| {
        found[i].ok_or_else(|| {
            TpmError::Malformed(format!(
                "the TPM did not report property 0x{:03X}",
                WANTED[i]
            ))
        })
    };
    Ok(Properties {
        family: get(0)?,
        level: get(1)?,
        revision: get(2)?,
        manufacturer: get(3)?,
        firmware_1: get(4)?,
        firmware_2: get(5)?,
    })
}

/// Reads the RSA 2048 EK modulus at [`EK_HANDLE`] with `TPM2_ReadPublic`.
pub fn read_ek(t: &mut dyn TpmTransport) -> Result<Vec<u8>, TpmError> {
    let resp = t
        .transact(&command(TPM_CC_READ_PUBLIC, &[EK_HANDLE]))
        .map_err(TpmError::Io)?;
    let (rc, mut r) = response(&resp, "TPM2_ReadPublic")?;
    match rc {
        0 => {}
        rc if is_missing_handle(rc) => return Err(TpmError::NoEk),
        rc => return Err(TpmError::Code(rc)),
    }
    // TPM2B_PUBLIC outPublic, then the TPM2B_NAMEs name and qualifiedName (checked, not used).
    let mut p = Reader::new(r.tpm2b("outPublic")?);
    // TPMT_PUBLIC.
    let kind = p.u16("the key type")?;
    if kind != TPM_ALG_RSA {
        return Err(TpmError::NotRsa2048(format!(
            "not an RSA key (algorithm 0x{kind:04X})"
        )));
    }
    p.u16("nameAlg")?;
    p.u32("objectAttributes")?;
    p.tpm2b("authPolicy")?;
    // TPMS_RSA_PARMS: symmetric (TPMT_SYM_DEF_OBJECT), scheme (TPMT_RSA_SCHEME), keyBits, exponent.
    if p.u16("the symmetric algorithm")? != TPM_ALG_NULL {
        p.u16("the symmetric key bits")?;
        p.u16("the symmetric mode")?;
    }
    let scheme = p.u16("the RSA scheme")?;
    if scheme != TPM_ALG_NULL && scheme != TPM_ALG_RSAES {
        p.u16("the RSA scheme's hash")?; // TPMS_SCHEME_HASH; RSAES and NULL have no details
    }
    let key_bits = p.u16("keyBits")?;
    p.u32("exponent")?;
    let modulus = p.tpm2b("unique.rsa")?;
    if p.pos != p.buf.len() {
        return Err(TpmError::Malformed(format!(
            "outPublic has {} bytes after the modulus",
            p.buf.len() - p.pos
        )));
    }
    r.tpm2b("name")?;
    r.tpm2b("qualifiedName")?;
    if modulus.len() * 8 != usize::from(key_bits) {
        return Err(TpmError::Malformed(format!(
            "a {key_bits}-bit key with a {}-byte modulus",
            modulus.len()
        )));
    }
    if key_bits != 2048 {
        return Err(TpmError::NotRsa2048(format!("RSA {key_bits}")));
    }
    Ok(modulus.to_vec())
}

/// What was read for records 13 and 25.
pub(super) struct Tpm {
    /// Record 13's text.
    pub version: Option<String>,
    /// Record 25: the EK modulus.
    pub ek: Option<Vec<u8>>,
}

const RANDOM_ID: &str = "the offline id uses a random seed instead";

/// Reads records 13 and 25, through `injected` when given, else through [`DEVICE`] below the root
/// when it is present. Reports what it cannot read.
pub(super) fn collect(ctx: &mut Ctx, injected: Option<&mut dyn TpmTransport>) -> Tpm {
    let class = ctx.path("sys/class/tpm/tpm0");
    let rm = ctx.path(DEVICE);
    let has_rm = injected.is_some() || std::fs::symlink_metadata(&rm).is_ok();
    if !class.exists() && !has_rm {
        ctx.missing_at("TpmEkPub", &rm, &format!("no TPM; {RANDOM_ID}"));
        return Tpm {
            version: None,
            ek: None,
        }; // no TPM: no 13, no 25
    }
    let major_path = class.join("tpm_version_major");
    let major = std::fs::read_to_string(&major_path)
        .ok()
        .map(|s| s.trim().to_string());
    let version = match major.as_deref() {
        Some("2") => "2.0",
        Some("1") => "1.2",
        _ if has_rm => "2.0", // only TPM 2.0 has a resource manager device
        _ => {
            let reason = "a TPM is present but its version is unknown";
            ctx.missing_at("TpmVersion", &major_path, reason);
            ctx.missing_at("TpmEkPub", &class, &format!("{reason}; {RANDOM_ID}"));
            return Tpm {
                version: None,
                ek: None,
            };
        }
    };
    let major_only = Tpm {
        version: Some(format!("TPM-Version:{version}")),
        ek: None,
    };
    if version == "1.2" {
        let reason = "a TPM 1.2: only the major version is known; TPM 1.2 commands are not sent";
        ctx.missing_at("TpmVersion", &class, reason);
        let reason = format!("a TPM 1.2 EK is not read (Autopilot needs TPM 2.0); {RANDOM_ID}");
        ctx.missing_at("TpmEkPub", &class, &reason);
        return major_only;
    }

    let mut device;
    let transport: &mut dyn TpmTransport = match injected {
        Some(t) => t,
        None => match DeviceTransport::open(&rm) {
            Ok(d) => {
                device = d;
                &mut device
            }
            Err(e) => {
                let why = io_reason(&e);
                let reason = format!("{why}; written with the major version only");
                ctx.missing_at("TpmVersion", &rm, &reason);
                ctx.missing_at("TpmEkPub", &rm, &format!("{why}; {RANDOM_ID}"));
                return major_only;
            }
        },
    };

    let version = match read_properties(transport) {
        Ok(p) => Some(p.version_text()),
        Err(e) => {
            let reason = format!("TPM2_GetCapability: {e}; written with the major version only");
            ctx.missing_at("TpmVersion", &rm, &reason);
            major_only.version
        }
    };
    let ek = match read_ek(transport) {
        Ok(modulus) => Some(modulus),
        Err(TpmError::NoEk) => {
            ctx.missing_at("TpmEkPub", &rm, NO_EK);
            None
        }
        Err(e) => {
            let reason = format!("TPM2_ReadPublic of 0x81010001: {e}; {RANDOM_ID}");
            ctx.missing_at("TpmEkPub", &rm, &reason);
            None
        }
    };
    Tpm { version, ek }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::{collect_with_tpm, Collected, Options};
    use crate::enums::OfflineIdMethod;
    use crate::model::{Record, TextField};
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    /// An Infineon SLB 9670 as in the HP EliteBook 840 G8 fixture.
    const IFX: [(u32, u32); 13] = [
        (0x100, 0x322E_3000), // "2.0\0"
        (0x101, 0),
        (0x102, 138),
        (0x103, 2018),
        (0x104, 5),
        (0x105, 0x4946_5820), // "IFX "
        (0x106, 0x534C_4239), // vendor string 1
        (0x107, 0x3637_3000),
        (0x108, 0),
        (0x109, 0),
        (0x10A, 0),
        (0x10B, 0x0007_0055),
        (0x10C, 0x0011_CB00),
    ];
    const IFX_TEXT: &str =
        "TPM-Version:2.0 -Level:0-Revision:1.38-VendorID:'IFX '-Firmware:458837.1166080";

    fn modulus() -> Vec<u8> {
        (0..256u32).map(|i| (i * 7 + 3) as u8).collect()
    }

    fn tpm2b(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        out.extend_from_slice(bytes);
    }

    /// A TPMT_PUBLIC as the TCG default RSA 2048 EK template makes it.
    fn rsa_ek_public(symmetric: u16, scheme: u16, modulus: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&TPM_ALG_RSA.to_be_bytes());
        p.extend_from_slice(&0x000Bu16.to_be_bytes()); // SHA-256
        p.extend_from_slice(&0x0003_00B2u32.to_be_bytes());
        tpm2b(&mut p, &[0x83; 32]); // authPolicy
        p.extend_from_slice(&symmetric.to_be_bytes());
        if symmetric != TPM_ALG_NULL {
            p.extend_from_slice(&128u16.to_be_bytes());
            p.extend_from_slice(&0x0043u16.to_be_bytes()); // CFB
        }
        p.extend_from_slice(&scheme.to_be_bytes());
        if scheme != TPM_ALG_NULL && scheme != TPM_ALG_RSAES {
            p.extend_from_slice(&0x000Bu16.to_be_bytes());
        }
        p.extend_from_slice(&((modulus.len() * 8) as u16).to_be_bytes());
        p.extend_from_slice(&0u32.to_be_bytes()); // default exponent
        tpm2b(&mut p, modulus);
        p
    }

    fn respond(rc: u32, body: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&TPM_ST_NO_SESSIONS.to_be_bytes());
        r.extend_from_slice(&((10 + body.len()) as u32).to_be_bytes());
        r.extend_from_slice(&rc.to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn read_public_response(public: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        tpm2b(&mut body, public);
        tpm2b(&mut body, &[0x00, 0x0B].repeat(17)); // name
        tpm2b(&mut body, &[0x00, 0x0B].repeat(17)); // qualified name
        respond(0, &body)
    }

    /// A TPM that parses the commands it is sent and answers them from its properties and keys.
    struct FakeTpm {
        properties: Vec<(u32, u32)>,
        /// The TPMT_PUBLIC at 0x81010001, if any.
        ek: Option<Vec<u8>>,
        /// Properties per GetCapability answer.
        page: usize,
        /// Answers given instead of the real ones: (command code, response).
        canned: Vec<(u32, Vec<u8>)>,
        commands: Vec<Vec<u8>>,
    }

    impl FakeTpm {
        fn new() -> FakeTpm {
            FakeTpm {
                properties: IFX.to_vec(),
                ek: Some(rsa_ek_public(0x0006, TPM_ALG_NULL, &modulus())),
                page: 64,
                canned: Vec::new(),
                commands: Vec::new(),
            }
        }

        fn get_capability(&self, params: &mut Reader<'_>) -> Vec<u8> {
            let (Ok(cap), Ok(from), Ok(count)) = (params.u32(""), params.u32(""), params.u32(""))
            else {
                return respond(0x1D5, &[]); // TPM_RC_INSUFFICIENT
            };
            assert_eq!(cap, TPM_CAP_TPM_PROPERTIES);
            let all: Vec<_> = self.properties.iter().filter(|p| p.0 >= from).collect();
            let n = all.len().min(count as usize).min(self.page);
            let mut body = vec![u8::from(n < all.len())];
            body.extend_from_slice(&cap.to_be_bytes());
            body.extend_from_slice(&(n as u32).to_be_bytes());
            for (p, v) in &all[..n] {
                body.extend_from_slice(&p.to_be_bytes());
                body.extend_from_slice(&v.to_be_bytes());
            }
            respond(0, &body)
        }
    }

    impl TpmTransport for FakeTpm {
        fn transact(&mut self, cmd: &[u8]) -> io::Result<Vec<u8>> {
            self.commands.push(cmd.to_vec());
            let mut r = Reader::new(cmd);
            let tag = r.u16("tag").unwrap();
            let size = r.u32("size").unwrap();
            let code = r.u32("code").unwrap();
            assert_eq!(tag, TPM_ST_NO_SESSIONS);
            assert_eq!(size as usize, cmd.len());
            if let Some((_, resp)) = self.canned.iter().find(|(c, _)| *c == code) {
                return Ok(resp.clone());
            }
            Ok(match code {
                TPM_CC_GET_CAPABILITY => self.get_capability(&mut r),
                TPM_CC_READ_PUBLIC => match (r.u32("handle").unwrap(), &self.ek) {
                    (EK_HANDLE, Some(public)) => read_public_response(public),
                    _ => respond(0x18B, &[]), // TPM_RC_HANDLE, handle 1
                },
                _ => respond(0x143, &[]), // TPM_RC_COMMAND_CODE
            })
        }
    }

    fn collect_through(t: &mut dyn TpmTransport) -> Collected {
        let root = tempfile::tempdir().unwrap();
        let options = Options {
            arch: "x86_64".into(),
            now: None,
            local_offset: None,
            offline_id: Some([7; 32]),
        };
        collect_with_tpm(root.path(), &options, Some(t))
    }

    fn missing<'a>(c: &'a Collected, field: &str) -> Vec<&'a str> {
        c.missing
            .iter()
            .filter(|m| m.field == field)
            .map(|m| m.reason.as_str())
            .collect()
    }

    fn assert_random_seed_id(c: &Collected) {
        let id = c.hash.offline_device_id().unwrap();
        assert_eq!(
            (id.method, id.flag, id.id.as_slice()),
            (OfflineIdMethod(3), 1, &[7u8; 32][..])
        );
    }

    #[test]
    fn commands_are_marshalled_big_endian() {
        let mut t = FakeTpm::new();
        read_properties(&mut t).unwrap();
        read_ek(&mut t).unwrap();
        assert_eq!(
            t.commands,
            [
                vec![
                    0x80, 0x01, 0, 0, 0, 0x16, 0, 0, 0x01, 0x7A, 0, 0, 0, 6, 0, 0, 0x01, 0x00, 0,
                    0, 0, 16
                ],
                vec![0x80, 0x01, 0, 0, 0, 0x0E, 0, 0, 0x01, 0x73, 0x81, 0x01, 0x00, 0x01],
            ]
        );
    }

    #[test]
    fn the_ek_gives_records_25_and_11_and_the_properties_record_13() {
        let mut t = FakeTpm::new();
        let c = collect_through(&mut t);
        let h = &c.hash;
        assert_eq!(h.text(TextField::TpmVersion).as_deref(), Some(IFX_TEXT));
        assert_eq!(h.tpm_ek_pub(), Some(&modulus()[..]));
        let id = h.offline_device_id().unwrap();
        assert_eq!((id.status, id.method, id.flag), (0, OfflineIdMethod(1), 0));
        assert_eq!(id.id, Sha256::digest(modulus()).to_vec());
        assert!(missing(&c, "TpmEkPub").is_empty(), "{:?}", c.missing);
        assert!(missing(&c, "TpmVersion").is_empty(), "{:?}", c.missing);
        let kinds: Vec<u16> = h.records.iter().map(Record::kind).collect();
        let pos = |k| kinds.iter().position(|&x| x == k).unwrap();
        assert!(pos(10) < pos(13) && pos(13) < pos(25) && pos(25) < pos(11));
    }

    #[test]
    fn other_ek_templates_parse() {
        for (symmetric, scheme) in [
            (TPM_ALG_NULL, TPM_ALG_NULL),
            (0x0006, 0x0014), // RSASSA with a hash
            (0x0006, TPM_ALG_RSAES),
            (0x0006, 0x0017), // OAEP with a hash
        ] {
            let mut t = FakeTpm::new();
            t.ek = Some(rsa_ek_public(symmetric, scheme, &modulus()));
            assert_eq!(read_ek(&mut t).unwrap(), modulus(), "{symmetric} {scheme}");
        }
    }

    #[test]
    fn no_persisted_ek_is_reported_and_the_id_stays_random() {
        let mut t = FakeTpm::new();
        t.ek = None;
        let c = collect_through(&mut t);
        assert_eq!(missing(&c, "TpmEkPub"), [NO_EK]);
        assert!(c.hash.tpm_ek_pub().is_none());
        assert_random_seed_id(&c);
        assert_eq!(
            c.hash.text(TextField::TpmVersion).as_deref(),
            Some(IFX_TEXT)
        );
        // Only GetCapability and ReadPublic are sent: no CreatePrimary.
        let codes: Vec<&[u8]> = t.commands.iter().map(|c| &c[6..10]).collect();
        assert_eq!(codes, [[0, 0, 1, 0x7A], [0, 0, 1, 0x73]]);
    }

    #[test]
    fn missing_handle_codes() {
        for rc in [0x18B, 0x08B, 0x28B, 0x78B, 0x910] {
            assert!(is_missing_handle(rc), "0x{rc:X}");
        }
        // 0x1CB names a parameter and 0x98B a session, not a handle.
        for rc in [0, 0x101, 0x184, 0x1CB, 0x98B, 0x000B_018B, 0x0B, 0x90B] {
            assert!(!is_missing_handle(rc), "0x{rc:X}");
        }
    }

    #[test]
    fn record_13_matches_every_tpm_in_the_fixtures() {
        let cases = [
            (0x4946_5820, 138, 0x0007_0055, 0x0011_CB00, IFX_TEXT),
            (
                0x4E54_4300,
                159,
                0x0007_0002,
                0x0004_0000,
                "TPM-Version:2.0 -Level:0-Revision:1.59-VendorID:'NTC '-Firmware:458754.262144",
            ),
            (
                0x4E54_4300,
                159,
                0x0007_0002,
                0x0003_0001,
                "TPM-Version:2.0 -Level:0-Revision:1.59-VendorID:'NTC '-Firmware:458754.196609",
            ),
            (
                0x4942_4D00, // libtpms: "IBM" and its FIRMWARE_V1, FIRMWARE_V2
                164,
                0x2019_1023,
                0x0016_3636,
                "TPM-Version:2.0 -Level:0-Revision:1.64-VendorID:'IBM '-Firmware:538513443.1455670",
            ),
            (
                0x5354_4D20,
                138,
                0x0001_0102,
                0,
                "TPM-Version:2.0 -Level:0-Revision:1.38-VendorID:'STM '-Firmware:65794.0",
            ),
            (
                0x5354_4D20,
                116,
                0x0047_000C,
                0x44A0_1004,
                "TPM-Version:2.0 -Level:0-Revision:1.16-VendorID:'STM '-Firmware:4653068.1151340548",
            ),
            (
                0x564D_5700,
                116,
                0x0002_0065,
                1,
                "TPM-Version:2.0 -Level:0-Revision:1.16-VendorID:'VMW '-Firmware:131173.1",
            ),
            (
                0x4946_5820,
                116,
                0x0007_003E,
                0x000C_3600,
                "TPM-Version:2.0 -Level:0-Revision:1.16-VendorID:'IFX '-Firmware:458814.800256",
            ),
        ];
        for (manufacturer, revision, firmware_1, firmware_2, text) in cases {
            let p = Properties {
                family: 0x322E_3000,
                level: 0,
                revision,
                manufacturer,
                firmware_1,
                firmware_2,
            };
            assert_eq!(p.version_text(), text);
        }
    }

    #[test]
    fn properties_answered_in_pieces_are_followed() {
        let mut t = FakeTpm::new();
        t.page = 3;
        let p = read_properties(&mut t).unwrap();
        assert_eq!(p.version_text(), IFX_TEXT);
        assert_eq!(t.commands.len(), 5);
    }

    #[test]
    fn a_missing_property_is_an_error() {
        let mut t = FakeTpm::new();
        t.properties.retain(|p| p.0 != TPM_PT_FIRMWARE_VERSION_2);
        let e = read_properties(&mut t).unwrap_err().to_string();
        assert!(e.contains("0x10C"), "{e}");
    }

    #[test]
    fn a_failed_get_capability_keeps_the_major_version() {
        let mut t = FakeTpm::new();
        t.canned.push((TPM_CC_GET_CAPABILITY, respond(0x101, &[])));
        let c = collect_through(&mut t);
        assert_eq!(
            c.hash.text(TextField::TpmVersion).as_deref(),
            Some("TPM-Version:2.0")
        );
        let reasons = missing(&c, "TpmVersion");
        assert!(reasons[0].contains("response code 0x101"), "{reasons:?}");
        // The EK is still read.
        assert_eq!(c.hash.tpm_ek_pub(), Some(&modulus()[..]));
    }

    #[test]
    fn keys_that_are_not_rsa_2048_are_reported() {
        let mut ecc = rsa_ek_public(TPM_ALG_NULL, TPM_ALG_NULL, &modulus());
        ecc[..2].copy_from_slice(&0x0023u16.to_be_bytes());
        let rsa3072 = rsa_ek_public(0x0006, TPM_ALG_NULL, &[1; 384]);
        for (public, expected) in [
            (ecc, "not an RSA key (algorithm 0x0023)"),
            (rsa3072, "RSA 3072"),
        ] {
            let mut t = FakeTpm::new();
            t.ek = Some(public);
            let c = collect_through(&mut t);
            let reasons = missing(&c, "TpmEkPub");
            assert!(reasons[0].contains(expected), "{reasons:?}");
            assert!(c.hash.tpm_ek_pub().is_none());
            assert_random_seed_id(&c);
        }
    }

    struct Broken;
    impl TpmTransport for Broken {
        fn transact(&mut self, _: &[u8]) -> io::Result<Vec<u8>> {
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        }
    }

    #[test]
    fn device_errors_are_reported() {
        let c = collect_through(&mut Broken);
        assert!(c.hash.tpm_ek_pub().is_none());
        assert!(c.needs_root());
        assert_eq!(missing(&c, "TpmEkPub").len(), 1);
        assert_eq!(missing(&c, "TpmVersion").len(), 1);
        assert_random_seed_id(&c);
    }

    #[cfg(unix)]
    #[test]
    fn an_ordinary_file_is_not_written_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tpmrm0");
        std::fs::write(&path, b"").unwrap();
        let e = DeviceTransport::open(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }

    /// Every proper prefix of a good response, and the good response with a wrong size.
    #[test]
    fn truncated_responses_are_errors() {
        let good = read_public_response(&rsa_ek_public(0x0006, TPM_ALG_NULL, &modulus()));
        for n in 0..good.len() {
            let mut cut = good[..n].to_vec();
            let size = (n as u32).to_be_bytes();
            if n >= 6 {
                cut[2..6].copy_from_slice(&size); // consistent header, short body
            }
            let mut t = FakeTpm::new();
            t.canned.push((TPM_CC_READ_PUBLIC, cut));
            assert!(read_ek(&mut t).is_err(), "{n} bytes");
        }
        let good =
            FakeTpm::new().get_capability(&mut Reader::new(&[0, 0, 0, 6, 0, 0, 1, 0, 0, 0, 0, 16]));
        for n in 0..good.len() {
            let mut cut = good[..n].to_vec();
            if n >= 6 {
                cut[2..6].copy_from_slice(&(n as u32).to_be_bytes());
            }
            let mut t = FakeTpm::new();
            t.canned.push((TPM_CC_GET_CAPABILITY, cut));
            assert!(read_properties(&mut t).is_err(), "{n} bytes");
        }
    }

    #[test]
    fn a_malformed_ek_is_a_missing_entry() {
        let mut t = FakeTpm::new();
        t.canned
            .push((TPM_CC_READ_PUBLIC, respond(0, &[0x01, 0x00, 0x00, 0x01])));
        let c = collect_through(&mut t);
        let reasons = missing(&c, "TpmEkPub");
        assert!(reasons[0].contains("malformed response"), "{reasons:?}");
        assert!(c.hash.tpm_ek_pub().is_none());
        assert_random_seed_id(&c);
    }

    proptest! {
        #[test]
        fn random_responses_never_panic(
            read_public in proptest::collection::vec(any::<u8>(), 0..600),
            capability in proptest::collection::vec(any::<u8>(), 0..200),
            fix_header in any::<bool>(),
        ) {
            let fix = |mut r: Vec<u8>| {
                if fix_header && r.len() >= 10 {
                    let n = r.len() as u32;
                    r[..2].copy_from_slice(&TPM_ST_NO_SESSIONS.to_be_bytes());
                    r[2..6].copy_from_slice(&n.to_be_bytes());
                    r[6..10].copy_from_slice(&0u32.to_be_bytes());
                }
                r
            };
            let mut t = FakeTpm::new();
            t.canned.push((TPM_CC_READ_PUBLIC, fix(read_public)));
            t.canned.push((TPM_CC_GET_CAPABILITY, fix(capability)));
            let _ = read_properties(&mut t);
            if let Ok(ek) = read_ek(&mut t) {
                prop_assert_eq!(ek.len(), 256);
            }
        }

        #[test]
        fn damaged_ek_responses_never_panic(at in 0usize..400, byte in any::<u8>()) {
            let mut r = read_public_response(&rsa_ek_public(0x0006, TPM_ALG_NULL, &modulus()));
            let i = at % r.len();
            r[i] = byte;
            let mut t = FakeTpm::new();
            t.canned.push((TPM_CC_READ_PUBLIC, r));
            let c = collect_through(&mut t);
            match c.hash.tpm_ek_pub() {
                Some(ek) => {
                    prop_assert_eq!(ek.len(), 256);
                    let id = c.hash.offline_device_id().unwrap();
                    prop_assert_eq!(&id.id[..], &Sha256::digest(ek)[..]);
                }
                None => {
                    prop_assert_eq!(missing(&c, "TpmEkPub").len(), 1);
                    assert_random_seed_id(&c);
                }
            }
        }
    }
}
