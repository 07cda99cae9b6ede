//! Sealing and opening JSON values (pure functions over a key; no I/O).
//!
//! A sealed value is an *atom*: a JSON string of the mark `U+0001` followed by the base64 of
//! a format byte, a random 96-bit nonce and the AES-256-GCM ciphertext of the value's JSON
//! text. Arrays are sealed item by item and strings as one atom, so that a saver that
//! extends a stored value with a delta (array after array, string after string) still can:
//! an extended string is several atoms in a row, which open to strings and join again.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// What starts every atom (a control character: no JSON text or base64 holds it).
const MARK: char = '\u{1}';
/// The format byte of this version of the atom.
const FORMAT: u8 = 1;
const NONCE_LEN: usize = 12;

/// Why an [`EncryptionKey`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The environment variable is not set (or not Unicode).
    #[error(
        "environment variable `{0}` is not set; set it to a key from `EncryptionKey::generate().to_base64()`"
    )]
    Missing(String),
    /// The text is not a key.
    #[error("not an AES-256 key: {0}")]
    Invalid(String),
}

/// A 256-bit AES key. Its `Debug` output does not show it.
///
/// ```
/// use langgraph_checkpoint::EncryptionKey;
///
/// let key = EncryptionKey::generate();
/// let text = key.to_base64(); // keep this in your secret store
/// assert_eq!(EncryptionKey::parse(&text).unwrap(), key);
/// assert_eq!(EncryptionKey::parse(&"ab".repeat(32)).unwrap().to_base64().len(), 44);
/// assert!(EncryptionKey::parse("too short").is_err());
/// assert!(!format!("{key:?}").contains(&text));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey([u8; 32]);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(..)")
    }
}

impl EncryptionKey {
    /// A new random key (from the operating system's generator).
    pub fn generate() -> Self {
        Self(Aes256Gcm::generate_key(&mut OsRng).into())
    }

    /// A key of exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            KeyError::Invalid(format!("{} bytes, an AES-256 key has 32", bytes.len()))
        })?;
        Ok(Self(key))
    }

    /// A key written as base64 (44 characters, as [`to_base64`](Self::to_base64) writes
    /// it) or as 64 hex digits.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bytes: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<_, _>>()
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
            return Self::from_bytes(&bytes);
        }
        let bytes = STANDARD
            .decode(text)
            .map_err(|e| KeyError::Invalid(format!("neither 64 hex digits nor base64 ({e})")))?;
        Self::from_bytes(&bytes)
    }

    /// The key in environment variable `var` (base64 or hex, as [`parse`](Self::parse)
    /// reads it).
    pub fn from_env(var: &str) -> Result<Self, KeyError> {
        let text = std::env::var(var).map_err(|_| KeyError::Missing(var.to_string()))?;
        Self::parse(&text)
    }

    /// The key as base64 text.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

/// Seals with one key and opens with it or any older one.
#[derive(Clone)]
pub(crate) struct Cipher {
    current: Aes256Gcm,
    older: Vec<Aes256Gcm>,
}

impl Cipher {
    pub(crate) fn new(key: &EncryptionKey) -> Self {
        Self {
            current: Aes256Gcm::new(&Key::<Aes256Gcm>::from(key.0)),
            older: Vec::new(),
        }
    }

    pub(crate) fn also_open_with(&mut self, key: &EncryptionKey) {
        self.older
            .push(Aes256Gcm::new(&Key::<Aes256Gcm>::from(key.0)));
    }

    /// `value` as one atom.
    fn atom(&self, value: &Value) -> Result<Value, String> {
        let plain = serde_json::to_vec(value).map_err(|e| e.to_string())?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .current
            .encrypt(&nonce, plain.as_slice())
            .map_err(|_| "the value could not be encrypted".to_string())?;
        let mut bytes = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        bytes.push(FORMAT);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        let mut text = String::with_capacity(1 + bytes.len().div_ceil(3) * 4);
        text.push(MARK);
        STANDARD.encode_string(&bytes, &mut text);
        Ok(Value::String(text))
    }

    /// Seals a value: an array item by item, anything else as one atom.
    pub(crate) fn seal(&self, value: &Value) -> Result<Value, String> {
        match value {
            Value::Array(items) => items.iter().map(|v| self.atom(v)).collect(),
            other => self.atom(other),
        }
    }

    /// The value of one atom's text (after the mark).
    fn open_atom(&self, body: &str) -> Result<Value, String> {
        let bytes = STANDARD
            .decode(body)
            .map_err(|e| format!("an encrypted value is not base64 ({e})"))?;
        let (format, rest) = bytes.split_first().ok_or("an empty encrypted value")?;
        if *format != FORMAT {
            return Err(format!("encrypted value of unknown format {format}"));
        }
        if rest.len() < NONCE_LEN {
            return Err("an encrypted value shorter than its nonce".into());
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| "a short nonce")?;
        let nonce = Nonce::from(nonce);
        let plain = std::iter::once(&self.current)
            .chain(&self.older)
            .find_map(|k| k.decrypt(&nonce, sealed).ok())
            .ok_or(
                "an encrypted value does not open with the key (a wrong key, or altered data)",
            )?;
        serde_json::from_slice(&plain).map_err(|e| format!("a decrypted value is not JSON: {e}"))
    }

    /// A string of one or more atoms opened: one atom's value, or the strings of several
    /// joined (a string extended by deltas).
    fn open_atoms(&self, text: &str) -> Result<Value, String> {
        let mut parts: Vec<Value> = text
            .split(MARK)
            .skip(1)
            .map(|body| self.open_atom(body))
            .collect::<Result<_, _>>()?;
        if parts.len() == 1 {
            return Ok(parts.remove(0));
        }
        let mut joined = String::new();
        for part in parts {
            match part {
                Value::String(s) => joined.push_str(&s),
                _ => return Err("encrypted parts of a value that are not strings".into()),
            }
        }
        Ok(Value::String(joined))
    }

    /// Opens what [`seal`](Self::seal) sealed (and values a saver extended since); a value
    /// without atoms (stored before encryption was turned on) is returned as it is.
    pub(crate) fn open(&self, value: Value) -> Result<Value, String> {
        match value {
            Value::String(s) if s.starts_with(MARK) => self.open_atoms(&s),
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) if s.starts_with(MARK) => self.open_atoms(&s),
                    other => Ok(other),
                })
                .collect(),
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::resolve::extend_json;
    use serde_json::json;

    fn cipher() -> Cipher {
        Cipher::new(&EncryptionKey::generate())
    }

    #[test]
    fn every_kind_of_value_comes_back() {
        let c = cipher();
        for v in [
            json!(null),
            json!(7),
            json!("secret"),
            json!({"name": "Ada", "ssn": "123"}),
            json!([1, "two", {"three": 3}, [4]]),
            json!([]),
            json!(""),
        ] {
            let sealed = c.seal(&v).unwrap();
            assert!(!sealed.to_string().contains("secret") && !sealed.to_string().contains("Ada"));
            assert_eq!(c.open(sealed).unwrap(), v);
        }
    }

    #[test]
    fn sealed_values_extend_as_the_plain_ones_do() {
        let c = cipher();
        for (parts, whole) in [
            (
                vec![json!(["a", "b"]), json!(["c"]), json!([{"d": 4}])],
                json!(["a", "b", "c", {"d": 4}]),
            ),
            (
                vec![json!("hello "), json!("world"), json!("!")],
                json!("hello world!"),
            ),
            (vec![json!(""), json!("x")], json!("x")),
        ] {
            let mut stored = c.seal(&parts[0]).unwrap();
            for delta in &parts[1..] {
                extend_json(&mut stored, c.seal(delta).unwrap()).unwrap();
            }
            assert_eq!(c.open(stored).unwrap(), whole);
        }
    }

    #[test]
    fn a_wrong_key_or_altered_data_is_an_error_and_an_old_key_opens() {
        let (old, new) = (EncryptionKey::generate(), EncryptionKey::generate());
        let sealed = Cipher::new(&old).seal(&json!({"a": 1})).unwrap();
        let err = Cipher::new(&new).open(sealed.clone()).unwrap_err();
        assert!(err.contains("wrong key"), "{err}");
        let mut rotated = Cipher::new(&new);
        rotated.also_open_with(&old);
        assert_eq!(rotated.open(sealed.clone()).unwrap(), json!({"a": 1}));
        // One bit of the ciphertext flipped.
        let text = sealed.as_str().unwrap().trim_start_matches(MARK);
        let mut bytes = STANDARD.decode(text).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        let altered = format!("{MARK}{}", STANDARD.encode(&bytes));
        let err = Cipher::new(&old).open(json!(altered)).unwrap_err();
        assert!(err.contains("altered"), "{err}");
        for bad in ["\u{1}", "\u{1}!!", "\u{1}AA==", "\u{1}AQ=="] {
            assert!(Cipher::new(&old).open(json!(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_are_read_from_text_and_the_environment_with_typed_errors() {
        let key = EncryptionKey::generate();
        let hex: String = key.0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(EncryptionKey::parse(&hex).unwrap(), key);
        assert_eq!(
            EncryptionKey::parse(&format!(" {}\n", key.to_base64())).unwrap(),
            key
        );
        let short = EncryptionKey::parse(&STANDARD.encode([7u8; 16])).unwrap_err();
        assert_eq!(
            short,
            KeyError::Invalid("16 bytes, an AES-256 key has 32".into())
        );
        assert!(matches!(
            EncryptionKey::parse("zz".repeat(32).as_str()),
            Err(KeyError::Invalid(_))
        ));
        let var = "LANGGRAPH_TEST_KEY_THAT_IS_NEVER_SET";
        let missing = EncryptionKey::from_env(var).unwrap_err();
        assert_eq!(missing, KeyError::Missing(var.into()));
        assert!(
            missing
                .to_string()
                .contains("EncryptionKey::generate().to_base64()")
        );
    }

    #[test]
    fn plain_values_pass_through() {
        let c = cipher();
        for v in [json!({"a": 1}), json!(["x", 1]), json!("plain"), json!(3)] {
            assert_eq!(c.open(v.clone()).unwrap(), v);
        }
    }
}
