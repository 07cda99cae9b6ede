//! The part of a metadata filter that SQLite checks itself: a necessary condition of
//! [`CheckpointMetadata::matches`](crate::CheckpointMetadata::matches), so that a search
//! passes over most rows that cannot match without sending them, and the rows it sends are
//! still matched in Rust with that one rule. (PostgreSQL gains nothing from it: its search
//! costs an index lookup per thread either way, and a `jsonb` containment test on each
//! head made it slower, 88 against 61 ms for a tenth of 10,000 threads.)

use serde_json::{Map, Value};

/// For SQLite, the entries of `filter` whose value `json_extract` reads back as the same SQL
/// value `json_each` gives for it (a string, an integer in `i64`, a boolean) and whose key needs
/// no escaping in a JSON path, as a JSON object; `None` when there is none. A float is left
/// out (the two text-to-double conversions need not agree), and so are `null` (a missing key
/// reads as `NULL` too), arrays and objects (read back as JSON text, whose spacing and key
/// order may differ).
pub(crate) fn sqlite_prefilter(filter: &Map<String, Value>) -> Option<String> {
    let kept: Map<String, Value> = filter
        .iter()
        .filter(|(k, v)| {
            !k.contains(['"', '\\'])
                && match v {
                    Value::String(_) | Value::Bool(_) => true,
                    Value::Number(n) => n.is_i64(),
                    _ => false,
                }
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!kept.is_empty()).then(|| Value::Object(kept).to_string())
}

/// An SQLite condition true when the metadata JSON in `column` reads back another value for
/// one of the entries of parameter `param` (the text of [`sqlite_prefilter`]): a row that
/// cannot match. False when `param` is NULL and for metadata that is not JSON (such a row is
/// let through and reported as corrupt when it is decoded).
pub(crate) fn sqlite_mismatch(column: &str, param: &str) -> String {
    format!(
        "CASE WHEN {param} IS NULL OR NOT json_valid({column}) THEN 0 ELSE EXISTS (
            SELECT 1 FROM json_each({param}) f
            WHERE json_extract({column}, '$.\"' || f.key || '\"') IS NOT f.value) END"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn sqlite_checks_scalars_it_reads_back_alike() {
        let f = map(json!({
            "user": "zoë", "n": 3, "flag": true, "big": u64::MAX, "ratio": 0.5,
            "none": null, "tags": [1], "obj": {"a": 1}, "we\"ird": "x", "dot.ted": "y"
        }));
        let kept: Value = serde_json::from_str(&sqlite_prefilter(&f).unwrap()).unwrap();
        assert_eq!(
            kept,
            json!({"user": "zoë", "n": 3, "flag": true, "dot.ted": "y"})
        );
        assert_eq!(sqlite_prefilter(&map(json!({"ratio": 0.5}))), None);
        assert_eq!(sqlite_prefilter(&Map::new()), None);
    }

    /// The condition on rows of a table: which metadata it lets through.
    #[test]
    fn sqlite_mismatch_drops_only_rows_that_cannot_match() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let filter = sqlite_prefilter(&map(json!({"user": "ann", "n": 3}))).unwrap();
        let sql = format!("SELECT {}", sqlite_mismatch("?1", "?2"));
        let mismatch = |meta: &str, filter: Option<&str>| -> bool {
            conn.query_row(&sql, rusqlite::params![meta, filter], |r| r.get(0))
                .unwrap()
        };
        assert!(!mismatch(
            r#"{"user": "ann", "n": 3, "x": 1}"#,
            Some(&filter)
        ));
        assert!(mismatch(r#"{"user": "bob", "n": 3}"#, Some(&filter)));
        assert!(mismatch(r#"{"user": "ann", "n": "3"}"#, Some(&filter)));
        assert!(mismatch(r#"{"n": 3}"#, Some(&filter)));
        assert!(!mismatch("{not json", Some(&filter)), "left to the decoder");
        assert!(!mismatch(r#"{"user": "bob"}"#, None));
    }
}
