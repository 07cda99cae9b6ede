//! Timing for the bench examples (included with `#[path]`; not an example of its own).

use std::time::Instant;

/// Median and range of `reps` timings of `f`, in milliseconds, as text; `f` returns how many
/// things it read, which must be `expected` (a check that the timed call did its work).
pub(crate) async fn time<F, Fut>(
    reps: usize,
    expected: usize,
    mut f: F,
) -> Result<String, Box<dyn std::error::Error>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize, Box<dyn std::error::Error>>>,
{
    let mut ms = Vec::with_capacity(reps.max(1));
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        let found = f().await?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        if found != expected {
            return Err(format!("read {found}, expected {expected}").into());
        }
    }
    ms.sort_by(f64::total_cmp);
    Ok(format!(
        "{:.2} ms ({:.2}-{:.2})",
        ms[ms.len() / 2],
        ms[0],
        ms[ms.len() - 1]
    ))
}
