//! Checkpoint ids: the text of a UUID v7, ordered by creation time.
//!
//! An id holds 48 bits of Unix milliseconds, then a 16-bit sequence that keeps the ids made
//! in one millisecond in order (process-wide), then random bits. Its canonical text
//! (lowercase, hyphenated) sorts like its value, so savers order checkpoints, and find a
//! namespace's head, by comparing ids as strings.
//!
//! A run makes one id per superstep, so making one is kept cheap: one clock read, one
//! compare-and-swap on the process-wide sequence, a few multiplications for the random bits
//! (a per-thread generator seeded once from the operating system), and no formatting
//! machinery.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::shared_str::SharedStr;

/// The newest stamp handed out in this process: `milliseconds << 16 | sequence`.
static LAST: AtomicU64 = AtomicU64::new(0);

/// Largest millisecond count a UUID v7 holds.
const MAX_MS: u64 = (1 << 48) - 1;

thread_local! {
    /// State of this thread's random generator; 0 until seeded.
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// 64 random bits (wyrand), seeded from the operating system's generator on first use.
fn random_u64() -> u64 {
    RNG.with(|state| {
        let mut x = state.get();
        if x == 0 {
            x = uuid::Uuid::new_v4().as_u64_pair().0 | 1;
        }
        x = x.wrapping_add(0xa076_1d64_78bd_642f);
        state.set(x);
        let t = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
        .min(MAX_MS)
}

/// The next stamp of this process: greater than every stamp before it. A new millisecond
/// starts its sequence at a random number below 2^15, leaving room to count up; a sequence
/// that runs over moves on to the next millisecond.
fn next_stamp(ms: u64) -> u64 {
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let stamp = if ms > last >> 16 {
            (ms << 16) | (random_u64() & 0x7fff)
        } else {
            last + 1
        };
        match LAST.compare_exchange_weak(last, stamp, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return stamp,
            Err(seen) => last = seen,
        }
    }
}

/// The UUID v7 value of a stamp, with random low bits.
fn uuid_of(stamp: u64) -> u128 {
    let (ms, seq) = (u128::from(stamp >> 16), u128::from(stamp & 0xffff));
    let random = u128::from(random_u64()) & ((1 << 58) - 1);
    (ms << 80) | (0x7 << 76) | ((seq >> 4) << 64) | (0b10 << 62) | ((seq & 0xf) << 58) | random
}

/// The lowest id of Unix millisecond `ms` (clamped to what an id holds): every id made in
/// that millisecond sorts at or above it, every id made before it below.
pub(crate) fn lowest_id_of_ms(ms: i64) -> SharedStr {
    let ms = u64::try_from(ms).unwrap_or(0).min(MAX_MS);
    encode(u128::from(ms) << 80)
}

/// The Unix millisecond an id (the text of a UUID v7) was made in, or `None` for other text.
pub(crate) fn ms_of_id(id: &str) -> Option<u64> {
    let uuid = uuid::Uuid::parse_str(id).ok()?;
    (uuid.get_version_num() == 7).then(|| (uuid.as_u128() >> 80) as u64)
}

/// The canonical text of an id, in one allocation.
fn encode(value: u128) -> SharedStr {
    let bytes = value.to_be_bytes();
    let mut buf = [b'-'; uuid::fmt::Hyphenated::LENGTH];
    // Groups of 4, 2, 2, 2 and 6 bytes, with a hyphen after each but the last.
    hex_into(&mut buf[0..8], &bytes[0..4]);
    hex_into(&mut buf[9..13], &bytes[4..6]);
    hex_into(&mut buf[14..18], &bytes[6..8]);
    hex_into(&mut buf[19..23], &bytes[8..10]);
    hex_into(&mut buf[24..36], &bytes[10..16]);
    // Hex digits and hyphens only: always UTF-8.
    SharedStr::from(std::str::from_utf8(&buf).unwrap_or_default())
}

/// The two lowercase hex digits of every byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = [HEX[i >> 4], HEX[i & 0xf]];
        i += 1;
    }
    out
};

/// Writes `bytes` as lowercase hex into `out` (two digits a byte).
fn hex_into(out: &mut [u8], bytes: &[u8]) {
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
    }
}

/// True for canonical id text: 36 bytes, lowercase hex with hyphens at 8, 13, 18 and 23.
fn is_canonical(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == uuid::fmt::Hyphenated::LENGTH
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        // ... and nowhere else: four hyphens in all.
        && b.iter().filter(|&&c| c == b'-').count() == 4
        && b
            .iter()
            .all(|&c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c) || c == b'-')
}

/// Creates a new checkpoint id: the text of a UUID v7, greater than every id this process
/// made before.
///
/// ```
/// let a = langgraph_checkpoint::new_checkpoint_id();
/// let b = langgraph_checkpoint::new_checkpoint_id();
/// assert!(a < b);
/// assert_eq!(uuid::Uuid::parse_str(&b).unwrap().get_version_num(), 7);
/// ```
pub fn new_checkpoint_id() -> SharedStr {
    encode(uuid_of(next_stamp(now_ms())))
}

/// Creates a checkpoint id that sorts after `after` (the namespace's current head), even if
/// this machine's clock is behind the one that wrote `after`. Savers may rely on "the head is
/// the greatest id".
///
/// ```
/// use langgraph_checkpoint::next_checkpoint_id;
/// // A head written by a machine whose clock runs 70 years ahead.
/// let head = "f0000000-0000-7000-8000-000000000000";
/// assert!(next_checkpoint_id(Some(head)).as_str() > head);
/// ```
pub fn next_checkpoint_id(after: Option<&str>) -> SharedStr {
    let value = uuid_of(next_stamp(now_ms()));
    let text = encode(value);
    let Some(after) = after else {
        return text;
    };
    // The canonical text sorts like the value, so a canonical `after` is compared as text;
    // anything else is parsed.
    if text.as_str() > after && is_canonical(after) {
        return text;
    }
    let Ok(prev) = uuid::Uuid::parse_str(after) else {
        return text;
    };
    let prev = prev.as_u128();
    if value > prev {
        return text;
    }
    // `after` is from the future (another machine's clock): the millisecond after it.
    let ms = (prev >> 80) as u64 + 1;
    if ms > MAX_MS {
        return text;
    }
    encode(uuid_of((ms << 16) | (random_u64() & 0x7fff)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_7_with_the_current_time() {
        let before = now_ms();
        let id = uuid::Uuid::parse_str(&new_checkpoint_id()).unwrap();
        let after = now_ms();
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
        let ms = secs * 1000 + u64::from(nanos) / 1_000_000;
        assert!(
            (before..=after + 1).contains(&ms),
            "{before} <= {ms} <= {after}"
        );
    }

    #[test]
    fn many_ids_in_one_millisecond_stay_ordered_and_distinct() {
        let ids: Vec<SharedStr> = (0..50_000).map(|_| new_checkpoint_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|i| is_canonical(i)));
    }

    #[test]
    fn ids_from_many_threads_are_distinct() {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| (0..2000).map(|_| new_checkpoint_id()).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<SharedStr> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!((n, all.len()), (8000, 8000));
    }

    #[test]
    fn the_sequence_runs_over_into_the_next_millisecond() {
        let s = next_stamp(1);
        // Far behind the clock: every stamp after it counts up from the newest.
        let t = next_stamp(1);
        assert!(t > s && t >> 16 >= s >> 16);
        let v = uuid_of((5 << 16) | 0xffff);
        let w = uuid_of(6 << 16);
        assert!(v < w, "{v:x} !< {w:x}");
    }

    #[test]
    fn next_ids_sort_after_a_head_from_the_future() {
        let future = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            4_000_000_000,
            0,
        ))
        .to_string();
        let next = next_checkpoint_id(Some(&future));
        assert!(next.as_str() > future.as_str(), "{next} !> {future}");
        assert!(next_checkpoint_id(Some(&next)) > next);
        assert!(!next_checkpoint_id(Some("not-a-uuid")).is_empty());
        let now = new_checkpoint_id();
        assert!(next_checkpoint_id(Some(&now)) > now);
        // A head from the future does not move this process's own ids into the future.
        let (secs, _) = uuid::Uuid::parse_str(&new_checkpoint_id())
            .unwrap()
            .get_timestamp()
            .unwrap()
            .to_unix();
        assert!(secs < 4_000_000_000);
    }

    #[test]
    fn next_ids_compare_non_canonical_heads_by_value() {
        // Uppercase text sorts before lowercase, so a text comparison alone would accept an
        // id that is smaller as a value.
        let future = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            4_000_000_000,
            0,
        ));
        let upper = future.hyphenated().to_string().to_uppercase();
        let next = next_checkpoint_id(Some(&upper));
        let parsed = uuid::Uuid::parse_str(&next).unwrap();
        assert!(parsed > future, "{next} !> {upper}");
        assert!(is_canonical(&next));
        assert!(!is_canonical(&upper));
        assert!(!is_canonical("0000"));
        // 36 bytes, but a hyphen out of place or one too many.
        assert!(!is_canonical("0000000-00000-7000-8000-000000000000"));
        assert!(!is_canonical("00000000-0000-7000-8000-0000-0000000"));
        assert!(is_canonical("0189abcd-ef01-7000-8000-0123456789ab"));
    }

    #[test]
    fn encoding_matches_the_uuid_crate() {
        for v in [0u128, u128::MAX, 0x0190_a1b2_c3d4_7e5f_8a9b_0c1d_2e3f_4a5b] {
            let ours = encode(v);
            assert_eq!(ours, uuid::Uuid::from_u128(v).hyphenated().to_string());
            assert!(is_canonical(&ours));
        }
    }

    #[test]
    fn ids_sort_by_creation() {
        let a = new_checkpoint_id();
        let b = new_checkpoint_id();
        assert!(a < b, "{a} !< {b}");
    }
}
