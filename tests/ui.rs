//! Compile-time guarantees of the derives, checked with trybuild: every user error has a
//! precise message, and a misspelled channel in an update does not compile.

#![allow(missing_docs)]

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
