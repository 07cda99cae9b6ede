//! Graph validation: every problem of a builder, found in one pass.
//!
//! Names are resolved through one sorted table of node ids (a binary search instead of
//! hashing) shared with lowering. [`check_names`] finds naming problems on the builder without copying
//! anything; [`check_structure`] finds structural problems (no entry, unreachable nodes, dead
//! ends) on the lowered shape.

use super::builder::{Name, NodeSetting, StateGraph};
use crate::error::GraphProblem;
use crate::pregel::names::NameIndex;
use crate::pregel::plan::{Dest, NodeId, Shape};
use crate::state::State;
use crate::types::{COPY, END, INPUT, START};

fn valid_name(n: &str) -> bool {
    !n.is_empty() && ![START, END, INPUT, COPY].contains(&n) && !n.contains('|') && !n.contains(':')
}

struct Problems<'n> {
    names: &'n [Name],
    index: &'n NameIndex,
    out: Vec<GraphProblem>,
}

impl Problems<'_> {
    fn known(&mut self, context: impl FnOnce() -> String, name: &str) -> Option<u32> {
        let found = self.index.find(self.names, name);
        if found.is_none() {
            self.out.push(GraphProblem::UnknownNode {
                context: context(),
                name: name.to_string(),
            });
        }
        found
    }

    fn source(&mut self, context: impl FnOnce() -> String, name: &str) {
        if name != START {
            self.known(context, name);
        }
    }

    fn dest(&mut self, context: impl FnOnce() -> String, name: &str) -> Option<u32> {
        if name == END {
            None
        } else {
            self.known(context, name)
        }
    }
}

/// Naming problems: invalid or duplicate names, unknown references, edges out of END or into
/// START, empty routes and joins, plain edges into payload nodes.
///
/// `names` are the node names (taken out of the builder), `index` their lookup table,
/// `payload` tells whether a node takes its own input. The plain edges whose names resolve are
/// appended to `edges` as (source, destination), START being source `names.len()`, so that
/// lowering does not look them up again.
pub(crate) fn check_names<S: State, O>(
    g: &StateGraph<S, O>,
    names: &[Name],
    index: &NameIndex,
    payload: impl Fn(NodeId) -> bool,
    edges: &mut Vec<(usize, Dest)>,
) -> Vec<GraphProblem> {
    let mut p = Problems {
        names,
        index,
        out: Vec::new(),
    };
    for name in names {
        if !valid_name(name) {
            p.out.push(GraphProblem::InvalidName(name.to_string()));
        }
    }
    for dup in index.duplicates(names) {
        if valid_name(dup) {
            p.out.push(GraphProblem::DuplicateNode(dup.to_string()));
        }
    }
    let is_payload = |i: Option<u32>| i.is_some_and(&payload);
    for (from, to) in &g.edges {
        let ctx = || format!("edge `{from}` -> `{to}`");
        if from.as_ref() == END || to.as_ref() == START {
            p.out.push(GraphProblem::InvalidEdge {
                from: from.to_string(),
                to: to.to_string(),
            });
            continue;
        }
        let f = if from.as_ref() == START {
            Some(names.len())
        } else {
            p.known(ctx, from).map(|i| i as usize)
        };
        let t = p.dest(ctx, to);
        if is_payload(t) {
            p.out.push(GraphProblem::PayloadNodeOnEdge {
                node: to.to_string(),
                from: from.to_string(),
            });
        }
        let d = if to.as_ref() == END {
            Some(Dest::End)
        } else {
            t.map(Dest::Node)
        };
        if let (Some(f), Some(d)) = (f, d) {
            edges.push((f, d));
        }
    }
    for r in &g.routes {
        let from = &r.from;
        let ctx = || format!("route from `{from}`");
        if from.as_ref() == END {
            p.out.push(GraphProblem::InvalidEdge {
                from: from.to_string(),
                to: "(route)".into(),
            });
            continue;
        }
        p.source(ctx, from);
        if r.targets.is_empty() {
            p.out.push(GraphProblem::EmptyRoute(from.to_string()));
        }
        for t in &r.targets {
            p.dest(ctx, t);
        }
    }
    for (node, setting) in &g.settings {
        let context: &'static str = match setting {
            NodeSetting::JoinFrom(sources) => {
                check_join(&mut p, is_payload, sources, node);
                continue;
            }
            NodeSetting::GotoTargets(targets) => {
                let ctx = || format!("goto_targets of `{node}`");
                p.known(ctx, node);
                for t in targets {
                    p.dest(ctx, t);
                }
                continue;
            }
            NodeSetting::InterruptBefore | NodeSetting::InterruptAfter
                if node.as_ref() == crate::types::ALL_NODES =>
            {
                continue;
            }
            NodeSetting::InterruptBefore => "interrupt_before",
            NodeSetting::InterruptAfter => "interrupt_after",
            NodeSetting::Defer => "defer",
            NodeSetting::Retry(_) => "retry",
            NodeSetting::Timeout(_) => "timeout",
            NodeSetting::Cache(_) => "cache",
        };
        p.known(|| context.to_string(), node);
    }
    p.out
}

fn check_join(
    p: &mut Problems<'_>,
    is_payload: impl Fn(Option<u32>) -> bool,
    sources: &[Name],
    target: &str,
) {
    let ctx = || format!("join into `{target}`");
    if sources.is_empty() {
        p.out.push(GraphProblem::EmptyJoin(target.to_string()));
    }
    if is_payload(p.known(ctx, target)) {
        let from: Vec<&str> = sources.iter().map(AsRef::as_ref).collect();
        p.out.push(GraphProblem::PayloadNodeOnEdge {
            node: target.to_string(),
            from: from.join("+"),
        });
    }
    for s in sources {
        p.known(ctx, s);
    }
}

/// Marks in `seen` every node reachable from START (by edges, routes, joins or declared
/// command targets); `done` (zeroed, as long as `seen`) records expanded nodes. A worklist of
/// bits: the next node to expand is the lowest reached and not yet expanded.
fn reach_from_start(shape: &Shape, seen: &mut [u64], done: &mut [u64]) {
    let n = shape.names.len();
    let start = shape.start();
    seen[start / 64] |= 1 << (start % 64);
    let mut lo = start / 64;
    loop {
        while lo < seen.len() && seen[lo] & !done[lo] == 0 {
            lo += 1;
        }
        let Some(pending) = seen.get(lo).map(|w| w & !done[lo]) else {
            return;
        };
        let x = lo * 64 + pending.trailing_zeros() as usize;
        done[lo] |= 1 << (x % 64);
        let mut visit = |d: Dest| {
            if let Dest::Node(t) = d {
                let (w, b) = (t as usize / 64, 1u64 << (t % 64));
                if seen[w] & b == 0 {
                    seen[w] |= b;
                    lo = lo.min(w);
                }
            }
        };
        let out = shape.out(x);
        out.to.iter().for_each(|&d| visit(d));
        for &r in out.routers {
            if let Some(router) = shape.routers.get(r as usize) {
                router.declared.iter().for_each(|&(_, d)| visit(d));
            }
        }
        for &j in out.joins {
            if let Some(join) = shape.joins.get(j as usize) {
                visit(Dest::Node(join.target));
            }
        }
        if x < n {
            shape
                .goto(x as NodeId)
                .unwrap_or(&[])
                .iter()
                .for_each(|&d| visit(d));
            // An error handler's fallback is reachable from the node it covers.
            for &(from, to) in &shape.fallbacks {
                if from as usize == x {
                    visit(Dest::Node(to));
                }
            }
        }
    }
}

/// Structural problems on the lowered shape: no entry, nodes unreachable from START (by edges,
/// routes, joins or declared command targets), nodes with no way out.
pub(crate) fn check_structure(shape: &Shape, problems: &mut Vec<GraphProblem>) {
    let n = shape.names.len();
    let start = shape.start();
    let entry = shape.out(start);
    if entry.to.is_empty() && entry.routers.is_empty() {
        problems.push(GraphProblem::NoEntry);
    } else {
        // Two bitsets (reached, expanded), on the stack for graphs of up to 127 nodes.
        let words = (n + 1).div_ceil(64);
        let mut inline = [0u64; 4];
        let mut heap = Vec::new();
        let bits: &mut [u64] = if 2 * words <= inline.len() {
            &mut inline[..2 * words]
        } else {
            heap.resize(2 * words, 0);
            &mut heap
        };
        let (seen, done) = bits.split_at_mut(words);
        reach_from_start(shape, seen, done);
        let seen = |i: usize| seen[i / 64] & (1 << (i % 64)) != 0;
        for i in 0..n {
            let name = shape.name(i as NodeId);
            if !seen(i) && valid_name(name) && shape.id(name) == Some(i as NodeId) {
                problems.push(GraphProblem::Unreachable(name.to_string()));
            }
        }
    }
    for i in 0..n {
        let name = shape.name(i as NodeId);
        let out = shape.out(i);
        let way_out = !out.to.is_empty()
            || !out.routers.is_empty()
            || !out.joins.is_empty()
            || shape.goto(i as NodeId).is_some();
        if !way_out && valid_name(name) && shape.id(name) == Some(i as NodeId) {
            problems.push(GraphProblem::DeadEnd(name.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::__private::doc_state::{Review, ReviewUpdate};
    use crate::{SendTo, StateGraph};

    fn noop(_: &Review) -> ReviewUpdate {
        ReviewUpdate::new()
    }

    fn problems(g: StateGraph<Review>) -> Vec<GraphProblem> {
        match g.compile() {
            Ok(_) => Vec::new(),
            Err(e) => e.problems,
        }
    }

    #[test]
    fn a_valid_chain_has_no_problems() {
        let g = StateGraph::<Review>::new()
            .node("a", noop)
            .node("b", noop)
            .edge(START, "a")
            .edge("a", "b")
            .edge("b", END);
        assert_eq!(problems(g), vec![]);
    }

    /// Large graphs take the heap bitsets and the binary-searched names; an edge back to an
    /// early node and a route reaching a later one exercise the worklist.
    #[test]
    fn reachability_in_a_large_graph() {
        let n = 300;
        let name = |i: usize| format!("n{i:03}");
        let mut g = StateGraph::<Review>::new();
        for i in 0..n {
            g = g.node(name(i), noop);
        }
        g = g.node("island", noop).node("island2", noop);
        g = g.edge(START, name(0));
        for i in 0..n - 1 {
            if i != 149 {
                g = g.edge(name(i), name(i + 1));
            }
        }
        g = g
            .edge(name(200), name(3))
            .route(name(149), |_: &Review| END, [name(151), END.to_string()])
            .edge(name(150), name(299))
            .edge(name(n - 1), END)
            .edge("island", "island2")
            .edge("island2", "island");
        assert_eq!(
            problems(g),
            vec![
                GraphProblem::Unreachable("n150".into()),
                GraphProblem::Unreachable("island".into()),
                GraphProblem::Unreachable("island2".into()),
            ]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let g = StateGraph::<Review>::new()
            .node("a", noop)
            .node("a", noop)
            .node("b", noop)
            .node("orphan", noop)
            .node(START, noop)
            .node("x|y", noop)
            .edge("a", "ghost")
            .edge("b", END)
            .edge(END, "a")
            .route("b", |_: &Review| END, Vec::<&str>::new())
            .interrupt_before(["nope"]);
        let p = problems(g);
        let has = |x: &GraphProblem| p.contains(x);
        assert!(has(&GraphProblem::DuplicateNode("a".into())), "{p:?}");
        assert!(has(&GraphProblem::InvalidName(START.into())));
        assert!(has(&GraphProblem::InvalidName("x|y".into())));
        assert!(has(&GraphProblem::UnknownNode {
            context: "edge `a` -> `ghost`".into(),
            name: "ghost".into()
        }));
        assert!(has(&GraphProblem::InvalidEdge {
            from: END.into(),
            to: "a".into()
        }));
        assert!(has(&GraphProblem::EmptyRoute("b".into())));
        assert!(has(&GraphProblem::NoEntry));
        assert!(has(&GraphProblem::DeadEnd("orphan".into())));
        assert!(has(&GraphProblem::UnknownNode {
            context: "interrupt_before".into(),
            name: "nope".into()
        }));
    }

    #[test]
    fn unreachable_and_goto_targets() {
        let g = StateGraph::<Review>::new()
            .node("a", noop)
            .node("b", noop)
            .node("c", noop)
            .edge(START, "a")
            .edge("b", END)
            .edge("c", END)
            .goto_targets("a", ["b"]);
        assert_eq!(problems(g), vec![GraphProblem::Unreachable("c".into())]);
    }

    #[test]
    fn joins_count_as_ways_out_and_payload_nodes_need_sends() {
        let g = StateGraph::<Review>::new()
            .node("a", noop)
            .node("b", noop)
            .node("j", noop)
            .node_with_input("w", |_: u32| ReviewUpdate::new())
            .edge(START, "a")
            .edge(START, "b")
            .edge("j", END)
            .edge("a", "w")
            .edge("w", END)
            .join(["a", "b"], "j")
            .join(Vec::<&str>::new(), "j");
        assert_eq!(
            problems(g),
            vec![
                GraphProblem::PayloadNodeOnEdge {
                    node: "w".into(),
                    from: "a".into()
                },
                GraphProblem::EmptyJoin("j".into())
            ]
        );
        // a payload node reached by SendTo is fine
        let ok = StateGraph::<Review>::new()
            .node_with_input("w", |_: u32| ReviewUpdate::new())
            .route(START, |_: &Review| SendTo::new("w", 1u32), ["w"])
            .edge("w", END);
        assert_eq!(problems(ok), vec![]);
    }
}
