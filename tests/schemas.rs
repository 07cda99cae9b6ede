//! The JSON schemas `#[derive(State)]` generates: snapshots, and real values validate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::collections::BTreeMap;

use langgraph::StateUpdate;
use langgraph::prelude::*;
use serde_json::json;

/// How sure a reviewer is.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub enum Confidence {
    #[default]
    Low,
    High,
}

/// A document under review.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
pub struct Review {
    /// The current draft.
    pub draft: String,
    /// Reviewer notes, appended.
    #[reducer(append)]
    pub notes: Vec<String>,
    /// Scores per reviewer, merged.
    #[reducer(merge)]
    pub scores: BTreeMap<String, f64>,
    /// Revision rounds so far.
    pub rounds: u32,
    /// The last reviewer's confidence.
    pub confidence: Option<Confidence>,
}

fn validate(schema: &serde_json::Value, value: &serde_json::Value) -> Vec<String> {
    let v = jsonschema::validator_for(schema).unwrap();
    v.iter_errors(value).map(|e| e.to_string()).collect()
}

#[test]
fn state_schema_snapshot_and_validation() {
    let schema = Review::state_schema();
    insta::assert_json_snapshot!("review_state_schema", schema);
    let state = Review {
        draft: "v1".into(),
        notes: vec!["ok".into()],
        scores: BTreeMap::from([("ann".into(), 0.5)]),
        rounds: 2,
        confidence: Some(Confidence::High),
    };
    assert_eq!(
        validate(&schema, &state.to_json().unwrap()),
        Vec::<String>::new()
    );
    let bad = json!({"draft": 3, "notes": [], "scores": {}, "rounds": -1, "confidence": null});
    assert_eq!(
        validate(&schema, &bad).len(),
        2,
        "{:?}",
        validate(&schema, &bad)
    );
}

#[test]
fn update_schema_snapshot_and_validation() {
    let schema = ReviewUpdate::update_schema();
    insta::assert_json_snapshot!("review_update_schema", schema);
    let update = ReviewUpdate::new()
        .rounds(3)
        .confidence(Some(Confidence::Low));
    let json = serde_json::to_value(&update).unwrap();
    assert_eq!(json, json!({"rounds": 3, "confidence": "Low"}));
    assert_eq!(validate(&schema, &json), Vec::<String>::new());
    // A misspelled key is rejected by the schema and by deserialization alike.
    let typo = json!({"round": 3});
    assert!(!validate(&schema, &typo).is_empty());
    let err = serde_json::from_value::<ReviewUpdate>(typo).unwrap_err();
    assert!(err.to_string().contains("round"), "{err}");
    // null is a value only for Option channels: schema and deserialization agree.
    let null_draft = json!({"draft": null});
    assert!(!validate(&schema, &null_draft).is_empty());
    assert!(serde_json::from_value::<ReviewUpdate>(null_draft).is_err());
    let null_conf = json!({"confidence": null});
    assert!(validate(&schema, &null_conf).is_empty());
    assert_eq!(
        serde_json::from_value::<ReviewUpdate>(null_conf)
            .unwrap()
            .confidence,
        Some(None)
    );
}

#[test]
fn overwrites_survive_the_update_round_trip() {
    let u = ReviewUpdate::new()
        .overwrite_notes(vec!["only".into()])
        .draft("d");
    let json = serde_json::to_value(&u).unwrap();
    assert_eq!(
        json,
        json!({"draft": "d", "notes": ["only"], "__overwrite__": ["notes"]})
    );
    let back: ReviewUpdate = serde_json::from_value(json).unwrap();
    assert_eq!(
        serde_json::to_value(&back).unwrap()["__overwrite__"],
        json!(["notes"])
    );
    let err =
        serde_json::from_value::<ReviewUpdate>(json!({"__overwrite__": ["nope"]})).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    assert!(!back.is_empty());
    assert_eq!(back.channel_names(), ["draft", "notes"]);
    assert!(ReviewUpdate::new().is_empty());
}

#[test]
fn channel_table() {
    let info = Review::info();
    assert_eq!(info.name, "Review");
    assert_eq!(info.version, 1);
    let kinds: Vec<(&str, langgraph::ReducerKind, bool)> = info
        .channels
        .iter()
        .map(|c| (c.name, c.reducer, c.delta))
        .collect();
    use langgraph::ReducerKind::*;
    assert_eq!(
        kinds,
        [
            ("draft", LastValue, false),
            ("notes", Append, true),
            ("scores", Merge, false),
            ("rounds", LastValue, false),
            ("confidence", LastValue, false),
        ]
    );
    assert!(info.channels[0].reducer.is_last_value());
    assert_eq!(info.index_of("rounds"), Some(3));
}

#[test]
fn graph_exposes_its_schemas() {
    let g = StateGraph::<Review>::new()
        .node("n", |_: &Review| ReviewUpdate::new())
        .edge(START, "n")
        .edge("n", END)
        .compile()
        .unwrap();
    assert_eq!(g.state_schema(), Review::state_schema());
    assert_eq!(g.update_schema(), ReviewUpdate::update_schema());
}
