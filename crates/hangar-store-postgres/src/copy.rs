//! Bulk inserts as `COPY ... FROM STDIN (FORMAT binary)`: the rows stream to the server in one
//! command, with no statement to parse or plan and no bind parameters to evaluate. Multi-row
//! `INSERT ... VALUES` statements spent more time planning their thousands of parameters and
//! evaluating them row by row than inserting.

use hangar_core::store::{StoreError, StoreResult};
use hangar_store_sql::{Insert, Value};
use sqlx::PgConnection;

/// Bytes sent to the server per message.
const SEND_BYTES: usize = 1 << 20;

/// The binary COPY header: signature, flags, header extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Appends one row in the binary COPY format. Every integer column of the schema is BIGINT (8
/// bytes); text goes as its UTF-8 bytes, bytea as it is.
fn encode_row(out: &mut Vec<u8>, row: &[Value]) -> StoreResult<()> {
    let fields = i16::try_from(row.len())
        .map_err(|_| StoreError::Backend("a row of more than 32767 columns".into()))?;
    out.extend_from_slice(&fields.to_be_bytes());
    for value in row {
        let int: [u8; 8];
        let field: Option<&[u8]> = match value {
            Value::Text(v) => Some(v.as_bytes()),
            Value::OptText(v) => v.as_deref().map(str::as_bytes),
            Value::Int(v) | Value::OptInt(Some(v)) => {
                int = v.to_be_bytes();
                Some(&int)
            }
            Value::OptInt(None) => None,
            Value::Bytes(v) => Some(v),
        };
        match field {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(bytes) => {
                let len = i32::try_from(bytes.len())
                    .map_err(|_| StoreError::Backend("a value of more than 2 GiB".into()))?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(bytes);
            }
        }
    }
    Ok(())
}

/// Inserts every row of `insert` on `conn` (in its open transaction).
pub async fn copy_in(conn: &mut PgConnection, insert: &Insert) -> StoreResult<()> {
    let mut copy = conn
        .copy_in_raw(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            insert.table, insert.columns
        ))
        .await
        .map_err(hangar_store_sql::map_err)?;
    let mut buf = Vec::with_capacity(SEND_BYTES * 2);
    buf.extend_from_slice(HEADER);
    for row in insert.rows() {
        if let Err(e) = encode_row(&mut buf, row) {
            copy.abort(e.to_string())
                .await
                .map_err(hangar_store_sql::map_err)?;
            return Err(e);
        }
        if buf.len() >= SEND_BYTES {
            copy.send(buf.as_slice())
                .await
                .map_err(hangar_store_sql::map_err)?;
            buf.clear();
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    copy.send(buf.as_slice())
        .await
        .map_err(hangar_store_sql::map_err)?;
    copy.finish().await.map_err(hangar_store_sql::map_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_encoded_in_the_binary_copy_format() {
        let mut out = Vec::new();
        encode_row(
            &mut out,
            &[
                Value::Text("ab".into()),
                Value::OptText(None),
                Value::Int(258),
                Value::Bytes(vec![0, 255]),
            ],
        )
        .expect("encode");
        let expected: Vec<u8> = [
            &[0u8, 4][..],
            &[0, 0, 0, 2, b'a', b'b'],
            &[255, 255, 255, 255],
            &[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 2],
            &[0, 0, 0, 2, 0, 255],
        ]
        .concat();
        assert_eq!(out, expected);
        assert_eq!(HEADER.len(), 19);
    }
}
