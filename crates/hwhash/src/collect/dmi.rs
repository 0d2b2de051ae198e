//! The raw SMBIOS table as Linux exports it in `/sys/firmware/dmi/tables/DMI`: structures one after
//! another, each a formatted area (`type`, `length`, `handle`, fields) followed by a string-set
//! (NUL-terminated strings, ended by an empty string, so a structure always ends with two NULs).
//!
//! Every read is bounds-checked. A damaged table yields the structures before the damage and a
//! [`DmiError`] describing it, never a panic.

use crate::model::SMBIOS_MISSING;

/// Structure type 127 ends the table.
pub const END_OF_TABLE: u8 = 127;

/// Where and how a table is damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DmiError {
    #[error("the SMBIOS table is empty")]
    Empty,
    #[error("the SMBIOS table ends inside the header of a structure at offset {offset}")]
    TruncatedHeader { offset: usize },
    #[error("SMBIOS structure of type {kind} at offset {offset} has length {length}; a structure is at least 4 bytes")]
    BadLength {
        offset: usize,
        kind: u8,
        length: usize,
    },
    #[error("SMBIOS structure of type {kind} at offset {offset} with length {length} runs past the end of the table")]
    TruncatedStructure {
        offset: usize,
        kind: u8,
        length: usize,
    },
    #[error(
        "the strings of SMBIOS structure of type {kind} at offset {offset} are not terminated"
    )]
    UnterminatedStrings { offset: usize, kind: u8 },
}

/// One SMBIOS structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structure<'a> {
    pub kind: u8,
    pub handle: u16,
    /// Where the structure starts in the table.
    pub offset: usize,
    /// The formatted area, header included, so field offsets are those of the SMBIOS specification.
    pub formatted: &'a [u8],
    /// The string-set; string number `n` is `strings[n - 1]`.
    pub strings: Vec<&'a [u8]>,
}

/// A string field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmbiosString<'a> {
    /// The field holds string number n and that string exists.
    Value(&'a [u8]),
    /// The field holds 0 (no string) or the structure is too short to have the field: Windows
    /// writes [`SMBIOS_MISSING`].
    None,
    /// The field names a string the structure does not have.
    BadIndex(u8),
}

impl<'a> SmbiosString<'a> {
    /// The bytes Windows would write: the string, or `SMBIOS_STRING_INDEX_0` when there is none.
    pub fn bytes_or_missing(self) -> &'a [u8] {
        match self {
            SmbiosString::Value(v) => v,
            SmbiosString::None | SmbiosString::BadIndex(_) => SMBIOS_MISSING.as_bytes(),
        }
    }
}

impl<'a> Structure<'a> {
    pub fn byte(&self, offset: usize) -> Option<u8> {
        self.formatted.get(offset).copied()
    }

    pub fn word(&self, offset: usize) -> Option<u16> {
        let b = self.formatted.get(offset..offset.checked_add(2)?)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn dword(&self, offset: usize) -> Option<u32> {
        let b = self.formatted.get(offset..offset.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn qword(&self, offset: usize) -> Option<u64> {
        let b = self.formatted.get(offset..offset.checked_add(8)?)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }

    pub fn bytes(&self, offset: usize, len: usize) -> Option<&'a [u8]> {
        self.formatted.get(offset..offset.checked_add(len)?)
    }

    /// The string whose number is stored at `offset`.
    pub fn string(&self, offset: usize) -> SmbiosString<'a> {
        match self.byte(offset) {
            None | Some(0) => SmbiosString::None,
            Some(n) => match self.strings.get(usize::from(n) - 1) {
                Some(s) => SmbiosString::Value(s),
                None => SmbiosString::BadIndex(n),
            },
        }
    }
}

/// The structures of a table, up to the end-of-table structure, the end of the data or the first
/// damage (then `error` says what and where).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table<'a> {
    pub structures: Vec<Structure<'a>>,
    pub error: Option<DmiError>,
}

impl<'a> Table<'a> {
    /// Structures of one type, in table order.
    pub fn of_type(&self, kind: u8) -> impl Iterator<Item = &Structure<'a>> {
        self.structures.iter().filter(move |s| s.kind == kind)
    }

    /// The first structure of a type.
    pub fn first(&self, kind: u8) -> Option<&Structure<'a>> {
        self.of_type(kind).next()
    }
}

/// Splits a raw table into structures.
pub fn parse(data: &[u8]) -> Table<'_> {
    let mut table = Table::default();
    if data.is_empty() {
        table.error = Some(DmiError::Empty);
        return table;
    }
    let mut pos = 0usize;
    while pos < data.len() {
        let Some(header) = data.get(pos..pos + 4) else {
            table.error = Some(DmiError::TruncatedHeader { offset: pos });
            break;
        };
        let kind = header[0];
        let length = usize::from(header[1]);
        let handle = u16::from_le_bytes([header[2], header[3]]);
        if length < 4 {
            table.error = Some(DmiError::BadLength {
                offset: pos,
                kind,
                length,
            });
            break;
        }
        let Some(formatted) = data.get(pos..pos + length) else {
            table.error = Some(DmiError::TruncatedStructure {
                offset: pos,
                kind,
                length,
            });
            break;
        };
        let Some((strings, next)) = string_set(data, pos + length) else {
            table.error = Some(DmiError::UnterminatedStrings { offset: pos, kind });
            break;
        };
        table.structures.push(Structure {
            kind,
            handle,
            offset: pos,
            formatted,
            strings,
        });
        if kind == END_OF_TABLE {
            break;
        }
        pos = next;
    }
    table
}

/// Reads the string-set starting at `start`; returns the strings and where the next structure
/// starts, or `None` when the set is not terminated within the data.
fn string_set(data: &[u8], start: usize) -> Option<(Vec<&[u8]>, usize)> {
    let rest = data.get(start..)?;
    if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
        return Some((Vec::new(), start + 2));
    }
    let mut strings = Vec::new();
    let mut p = start;
    loop {
        let tail = data.get(p..)?;
        let len = tail.iter().position(|&b| b == 0)?;
        if len == 0 {
            return Some((strings, p + 1));
        }
        strings.push(&tail[..len]);
        p += len + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structures_and_strings() {
        let mut data = vec![1, 8, 0x01, 0x00, 1, 2, 0, 3];
        data.extend_from_slice(b"Dell Inc.\0Latitude\0\0");
        data.extend_from_slice(&[0, 5, 0x02, 0x00, 1]);
        data.extend_from_slice(&[0, 0]);
        data.extend_from_slice(&[127, 4, 0xFF, 0xFF, 0, 0]);
        let t = parse(&data);
        assert_eq!(t.error, None);
        assert_eq!(t.structures.len(), 3);
        let s = &t.structures[0];
        assert_eq!(s.string(4), SmbiosString::Value(b"Dell Inc."));
        assert_eq!(s.string(5), SmbiosString::Value(b"Latitude"));
        assert_eq!(s.string(6), SmbiosString::None);
        assert_eq!(s.string(7), SmbiosString::BadIndex(3));
        assert_eq!(s.string(60), SmbiosString::None);
        assert_eq!(t.structures[1].string(4), SmbiosString::BadIndex(1));
        assert_eq!(t.structures[1].word(4), None);
        assert_eq!(t.structures[1].word(3), Some(0x0100));
        assert_eq!(t.structures[1].handle, 2);
    }

    #[test]
    fn damage_is_reported_not_panicked_on() {
        assert_eq!(parse(&[]).error, Some(DmiError::Empty));
        assert_eq!(
            parse(&[1, 8]).error,
            Some(DmiError::TruncatedHeader { offset: 0 })
        );
        assert_eq!(
            parse(&[1, 2, 0, 0, 0, 0]).error,
            Some(DmiError::BadLength {
                offset: 0,
                kind: 1,
                length: 2
            })
        );
        assert_eq!(
            parse(&[1, 30, 0, 0, 0, 0]).error,
            Some(DmiError::TruncatedStructure {
                offset: 0,
                kind: 1,
                length: 30
            })
        );
        let t = parse(&[0, 4, 0, 0, 0, 0, 1, 5, 0, 0, 1, b'x']);
        assert_eq!(t.structures.len(), 1);
        assert_eq!(
            t.error,
            Some(DmiError::UnterminatedStrings { offset: 6, kind: 1 })
        );
    }
}
