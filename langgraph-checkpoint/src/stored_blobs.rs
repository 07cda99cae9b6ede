//! Reading some channels out of a checkpoint row's stored blobs object (`{"channel": blob,
//! ...}`, every value the checkpoint stored), skipping the others without building them.
//!
//! A SQL read returns a chain version's object whole, once, with the channels wanted from it;
//! extracting each channel in SQL parsed the object once per channel and per expression.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::model::BlobValue;

/// The blobs of `wanted` channels in the object `text`, in the object's order; a wanted
/// channel the object lacks is not in the result.
pub(crate) fn read_channels(
    text: &str,
    wanted: &[String],
) -> Result<Vec<(String, BlobValue)>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let found = Wanted(wanted).deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

/// Deserializes an object, keeping the values of the channels it names.
struct Wanted<'w>(&'w [String]);

impl<'de> DeserializeSeed<'de> for Wanted<'_> {
    type Value = Vec<(String, BlobValue)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Wanted<'_> {
    type Value = Vec<(String, BlobValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of stored channel values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = Vec::with_capacity(self.0.len());
        while let Some(channel) = map.next_key::<String>()? {
            if self.0.contains(&channel) {
                found.push((channel, map.next_value::<BlobValue>()?));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn wanted(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn only_the_wanted_channels_are_read() {
        let text = r#"{"big":{"kind":"full","value":[1,2,3]},
                       "xs":{"kind":"delta","base":"c1","items":["a"],"depth":2},
                       "n":{"kind":"full","value":7}}"#;
        let got = read_channels(text, &wanted(&["xs", "n", "absent"])).unwrap();
        assert_eq!(
            got,
            vec![
                (
                    "xs".to_string(),
                    BlobValue::Delta {
                        base: "c1".into(),
                        items: json!(["a"]),
                        depth: 2
                    }
                ),
                ("n".to_string(), BlobValue::Full { value: json!(7) }),
            ]
        );
        assert!(read_channels("{}", &wanted(&["xs"])).unwrap().is_empty());
    }

    #[test]
    fn bad_text_is_an_error_even_in_a_skipped_channel() {
        for text in [
            r#"{"xs":{"kind":"full","value":[1]}"#,
            r#"{"other":{"kind":"full","value":[1,}, "xs":{"kind":"full","value":1}}"#,
            r#"{"xs":{"kind":"sideways"}}"#,
            r#"{"xs":{"kind":"full","value":1}} trailing"#,
            r#"["xs"]"#,
        ] {
            assert!(read_channels(text, &wanted(&["xs"])).is_err(), "{text}");
        }
    }
}
