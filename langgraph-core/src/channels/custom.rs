//! User reducer functions.

/// Marker: a reducer written as `fn(&mut T, T)`.
pub struct ByRef;
/// Marker: a reducer written as `fn(T, T) -> T` (the LangGraph style).
pub struct ByValue;

/// A user reducer usable in `#[reducer(fn = path)]`. Implemented for `fn(&mut T, T)` and for
/// `fn(T, T) -> T`; the marker type `M` keeps the two blanket impls apart.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a reducer for fields of type `{T}`",
    note = "a reducer is `fn(current: &mut T, update: T)` or `fn(current: T, update: T) -> T`"
)]
pub trait ReducerFn<T, M> {
    /// Combines `update` into `current`.
    fn reduce(&self, current: &mut T, update: T);
}

impl<T, F: Fn(&mut T, T)> ReducerFn<T, ByRef> for F {
    fn reduce(&self, current: &mut T, update: T) {
        self(current, update)
    }
}

impl<T: Default, F: Fn(T, T) -> T> ReducerFn<T, ByValue> for F {
    fn reduce(&self, current: &mut T, update: T) {
        let old = std::mem::take(current);
        *current = self(old, update);
    }
}

/// Applies a user reducer (called by generated code).
pub fn reduce_with<T, M, F: ReducerFn<T, M>>(f: F, current: &mut T, update: T) {
    f.reduce(current, update)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_ref(c: &mut i64, u: i64) {
        *c += u;
    }
    fn max_val(c: i64, u: i64) -> i64 {
        c.max(u)
    }

    #[test]
    fn both_styles() {
        let mut x = 1;
        reduce_with(add_ref, &mut x, 2);
        assert_eq!(x, 3);
        reduce_with(max_val, &mut x, 10);
        assert_eq!(x, 10);
        reduce_with(max_val, &mut x, 4);
        assert_eq!(x, 10);
    }
}
