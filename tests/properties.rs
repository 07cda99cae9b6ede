//! Property: the result of a superstep does not depend on the order in which its tasks
//! finish. Writes are applied in a fixed order (edge-triggered tasks by node name, then
//! `SendTo` tasks in emission order), so any scheduling gives the same state.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::collections::BTreeMap;

use langgraph::prelude::*;
use proptest::prelude::*;

#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Acc {
    #[reducer(append)]
    order: Vec<String>,
    #[reducer(merge)]
    owner: BTreeMap<String, String>,
    #[reducer(fn = keep_first)]
    first: String,
}

/// Not commutative on purpose: only a fixed application order gives a fixed result.
fn keep_first(current: &mut String, update: String) {
    if current.is_empty() {
        *current = update;
    }
}

/// `n` parallel nodes (inserted in a shuffled order), each yielding `delays[i]` times before
/// writing, plus `sends` SendTo tasks with their own delays.
fn graph(names: &[String], delays: &[u8], sends: &[u8]) -> CompiledGraph<Acc> {
    let mut g = StateGraph::<Acc>::new();
    for (name, &d) in names.iter().zip(delays) {
        let n = name.clone();
        g = g
            .node(name.clone(), move |_: &Acc| {
                let n = n.clone();
                async move {
                    for _ in 0..d {
                        tokio::task::yield_now().await;
                    }
                    AccUpdate::new()
                        .order(vec![n.clone()])
                        .owner(BTreeMap::from([("key".to_string(), n.clone())]))
                        .first(n)
                }
            })
            .edge(START, name.clone())
            .edge(name.clone(), END);
    }
    let sends = sends.to_vec();
    g.node_with_input("w", |(i, d): (usize, u8)| async move {
        for _ in 0..d {
            tokio::task::yield_now().await;
        }
        AccUpdate::new().order(vec![format!("send{i}")])
    })
    .route(
        START,
        move |_: &Acc| {
            Route::send_all(
                sends
                    .iter()
                    .enumerate()
                    .map(|(i, d)| SendTo::new("w", (i, *d))),
            )
        },
        ["w"],
    )
    .edge("w", END)
    .compile()
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn completion_order_does_not_change_the_result(
        (names, delays_a, delays_b) in (2usize..8).prop_flat_map(|n| (
            Just((0..n).map(|i| format!("n{i}")).collect::<Vec<_>>()).prop_shuffle(),
            proptest::collection::vec(0u8..6, n),
            proptest::collection::vec(0u8..6, n),
        )),
        (sends_a, sends_b) in (0usize..5).prop_flat_map(|k| (
            proptest::collection::vec(0u8..6, k),
            proptest::collection::vec(0u8..6, k),
        )),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let run = |delays: &[u8], sends: &[u8]| {
            rt.block_on(graph(&names, delays, sends).invoke(Acc::default(), &RunConfig::new()))
                .unwrap()
                .into_value()
        };
        let a = run(&delays_a, &sends_a);
        let b = run(&delays_b, &sends_b);
        prop_assert_eq!(&a, &b);
        // ...and that order is: edge-triggered tasks by name, then sends in emission order.
        let mut want: Vec<String> = names.clone();
        want.sort();
        let last = want.last().cloned().unwrap();
        let first = want[0].clone();
        want.extend((0..sends_a.len()).map(|i| format!("send{i}")));
        prop_assert_eq!(&a.order, &want);
        prop_assert_eq!(&a.owner["key"], &last);
        prop_assert_eq!(&a.first, &first);
    }
}
