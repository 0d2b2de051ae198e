//! The header line: which column is which, and whether Intune would accept it.

use super::{Code, Finding, Severity};

/// Intune's header, in order. The first three are required; Group Tag and then Assigned User may
/// follow.
pub const INTUNE_HEADER: [&str; 5] = [
    "Device Serial Number",
    "Windows Product ID",
    "Hardware Hash",
    "Group Tag",
    "Assigned User",
];

/// A column of the import dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Column {
    SerialNumber,
    ProductId,
    HardwareHash,
    GroupTag,
    /// Older tools' name for the group tag.
    OrderId,
    AssignedUser,
    /// Partner form.
    Manufacturer,
    /// Partner form.
    Model,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::SerialNumber,
        Column::ProductId,
        Column::HardwareHash,
        Column::GroupTag,
        Column::OrderId,
        Column::AssignedUser,
        Column::Manufacturer,
        Column::Model,
    ];

    /// The header text, as Windows tools write it.
    pub fn name(self) -> &'static str {
        match self {
            Column::SerialNumber => "Device Serial Number",
            Column::ProductId => "Windows Product ID",
            Column::HardwareHash => "Hardware Hash",
            Column::GroupTag => "Group Tag",
            Column::OrderId => "OrderID",
            Column::AssignedUser => "Assigned User",
            Column::Manufacturer => "Manufacturer name",
            Column::Model => "Device model",
        }
    }

    /// Case-insensitive, surrounding whitespace and quotation marks ignored.
    pub fn parse(text: &str) -> Option<Column> {
        let text = text.trim().trim_matches('"').trim();
        Column::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(text))
    }

    /// The role a column plays: OrderID is the group tag.
    fn role(self) -> Column {
        match self {
            Column::OrderId => Column::GroupTag,
            other => other,
        }
    }
}

/// The header of a file: its fields as written and the column each one is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// The physical line of the header (1 unless blank lines come first).
    pub line: u64,
    /// The fields as written.
    pub fields: Vec<String>,
    /// The column at each position; `None` for an unknown or repeated column (ignored).
    pub columns: Vec<Option<Column>>,
}

const REQUIRED: [Column; 3] = [
    Column::SerialNumber,
    Column::ProductId,
    Column::HardwareHash,
];

impl Header {
    /// Maps the header fields to columns. Problems go to `findings`; in Intune mode the header
    /// must also be exactly Intune's.
    pub fn parse(
        fields: &[&str],
        intune: bool,
        file: &str,
        line: u64,
        findings: &mut Vec<Finding>,
    ) -> Header {
        let mut header = Header {
            line,
            fields: fields.iter().map(|f| f.to_string()).collect(),
            columns: Vec::with_capacity(fields.len()),
        };
        let at = Some(line);
        for (i, field) in fields.iter().enumerate() {
            let position = i + 1;
            let column = Column::parse(field);
            match column {
                Some(c) if header.index(c.role()).is_some() => {
                    let first = header
                        .columns
                        .iter()
                        .flatten()
                        .find(|d| d.role() == c.role())
                        .map_or(c, |d| *d);
                    findings.push(
                        Finding::new(
                            Severity::Error,
                            Code::DuplicateColumn,
                            file,
                            at,
                            format!(
                                "column {position} \"{}\" repeats \"{}\"; only the first is read. Delete one of them.",
                                field.trim(),
                                first.name()
                            ),
                        )
                        .value(field),
                    );
                    header.columns.push(None);
                }
                Some(c) => header.columns.push(Some(c)),
                None if field.trim().is_empty() => {
                    findings.push(Finding::new(
                        Severity::Warning,
                        Code::UnknownColumn,
                        file,
                        at,
                        format!(
                            "column {position} has no name, so its values are ignored; delete the empty column \
                             (often a trailing comma at the end of the header line)."
                        ),
                    ));
                    header.columns.push(None);
                }
                None => {
                    let hint = Column::ALL
                        .into_iter()
                        .find(|c| {
                            let (a, b) = (
                                c.name().to_ascii_lowercase(),
                                field.trim().to_ascii_lowercase(),
                            );
                            a.contains(&b) || b.contains(&a)
                        })
                        .map(|c| format!(" Did you mean \"{}\"?", c.name()))
                        .unwrap_or_default();
                    findings.push(
                        Finding::new(
                            Severity::Error,
                            Code::UnknownColumn,
                            file,
                            at,
                            format!(
                                "unknown column {position} \"{}\": an import file has the columns Device Serial \
                                 Number, Windows Product ID, Hardware Hash, optionally Group Tag (or OrderID) and \
                                 Assigned User, or Manufacturer name and Device model (partner form).{hint} \
                                 Rename or delete the column.",
                                field.trim()
                            ),
                        )
                        .value(field),
                    );
                    header.columns.push(None);
                }
            }
        }
        for required in REQUIRED {
            if header.index(required).is_none() {
                findings.push(Finding::new(
                    Severity::Error,
                    Code::MissingColumn,
                    file,
                    at,
                    format!(
                        "the header has no \"{}\" column; every import file needs Device Serial Number, Windows \
                         Product ID and Hardware Hash (a value may be empty, the column may not). Add it.",
                        required.name()
                    ),
                ));
            }
        }
        if intune {
            if let Some(reason) = intune_header_problem(fields) {
                findings.push(
                    Finding::new(
                        Severity::Error,
                        Code::IntuneHeader,
                        file,
                        at,
                        format!(
                            "Intune needs the header exactly \"Device Serial Number,Windows Product ID,Hardware \
                             Hash\", optionally followed by \",Group Tag\" and then \",Assigned User\" \
                             (case-sensitive, nothing else): {reason}"
                        ),
                    )
                    .value(&fields.join(",")),
                );
            }
        }
        header
    }

    /// The position of a column's values; Group Tag and OrderID answer for each other.
    pub fn index(&self, column: Column) -> Option<usize> {
        let role = column.role();
        self.columns
            .iter()
            .position(|c| c.is_some_and(|c| c.role() == role))
    }

    /// The column actually present for a role (OrderID where the file says OrderID).
    pub fn column(&self, column: Column) -> Option<Column> {
        self.index(column)
            .and_then(|i| self.columns.get(i).copied().flatten())
    }

    /// Rows can be read: the serial and hash columns are present.
    pub fn is_usable(&self) -> bool {
        self.index(Column::SerialNumber).is_some() && self.index(Column::HardwareHash).is_some()
    }

    /// The partner form (Manufacturer name and Device model).
    pub fn is_partner_form(&self) -> bool {
        self.index(Column::Manufacturer).is_some() || self.index(Column::Model).is_some()
    }

    /// The number of fields on the header line.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Why `fields` is not exactly Intune's header, or `None` when it is.
fn intune_header_problem(fields: &[&str]) -> Option<String> {
    for (i, field) in fields.iter().enumerate() {
        let position = i + 1;
        let Some(expected) = INTUNE_HEADER.get(i) else {
            return Some(format!(
                "column {position} \"{field}\" is one too many; Intune accepts at most the five columns \
                 {}. Delete it.",
                INTUNE_HEADER.join(", ")
            ));
        };
        if field == expected {
            continue;
        }
        return Some(match Column::parse(field) {
            Some(Column::OrderId) => {
                format!("column {position} is \"{field}\"; Intune calls it \"Group Tag\". Rename it.")
            }
            Some(Column::Manufacturer | Column::Model) => format!(
                "column {position} \"{field}\" belongs to the partner form, which Intune's import does not \
                 accept. Delete the Manufacturer name and Device model columns."
            ),
            Some(c) if c.name() == *expected => format!(
                "column {position} is \"{field}\"; write it exactly \"{expected}\" (case and spaces matter)."
            ),
            _ => format!("column {position} is \"{field}\", Intune expects \"{expected}\" there."),
        });
    }
    if fields.len() < 3 {
        return Some(format!(
            "the header has {} column(s); the first three (Device Serial Number, Windows Product ID, Hardware \
             Hash) are required.",
            fields.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str, intune: bool) -> (Header, Vec<Finding>) {
        let fields: Vec<&str> = line.split(',').collect();
        let mut findings = Vec::new();
        let header = Header::parse(&fields, intune, "f.csv", 1, &mut findings);
        (header, findings)
    }

    #[test]
    fn normal_mode_is_case_insensitive_and_trims() {
        let (h, f) = parse(
            " device serial number ,WINDOWS PRODUCT ID,Hardware Hash,orderid",
            false,
        );
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(h.index(Column::GroupTag), Some(3));
        assert_eq!(h.column(Column::GroupTag), Some(Column::OrderId));
        let (_, f) = parse(
            " device serial number ,WINDOWS PRODUCT ID,Hardware Hash",
            true,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, Code::IntuneHeader);
        assert!(f[0].message.contains("column 1"), "{}", f[0].message);
    }

    #[test]
    fn intune_header_forms() {
        for ok in [
            "Device Serial Number,Windows Product ID,Hardware Hash",
            "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag",
            "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User",
        ] {
            assert!(parse(ok, true).1.is_empty(), "{ok}");
        }
        for (bad, says) in [
            ("Device Serial Number,Windows Product ID,Hardware Hash,Assigned User", "expects \"Group Tag\""),
            ("Device Serial Number,Windows Product ID,Hardware Hash,OrderID", "Rename it"),
            ("Device Serial Number,Windows Product ID,Hardware Hash,Manufacturer name,Device model", "partner form"),
            ("Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User,X", "one too many"),
        ] {
            let f = parse(bad, true).1;
            let intune: Vec<_> = f.iter().filter(|f| f.code == Code::IntuneHeader).collect();
            assert_eq!(intune.len(), 1, "{bad}");
            assert!(intune[0].message.contains(says), "{bad}: {}", intune[0].message);
        }
    }

    #[test]
    fn unknown_missing_and_duplicate_columns() {
        let (h, f) = parse("Serial Number,Hardware Hash,Hardware Hash", false);
        let codes: Vec<Code> = f.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [
                Code::UnknownColumn,
                Code::DuplicateColumn,
                Code::MissingColumn,
                Code::MissingColumn
            ]
        );
        assert!(
            f[0].message
                .contains("Did you mean \"Device Serial Number\""),
            "{}",
            f[0].message
        );
        assert!(f[2].message.contains("\"Device Serial Number\""));
        assert!(f[3].message.contains("\"Windows Product ID\""));
        assert!(!h.is_usable());
        let (h, f) = parse(
            "Device Serial Number,Windows Product ID,Hardware Hash,Manufacturer name,Device model",
            false,
        );
        assert!(f.is_empty());
        assert!(h.is_partner_form());
    }
}
