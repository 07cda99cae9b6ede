//! Graph validation: every problem of a builder, found in one pass (pure, no state type).

use std::collections::{HashMap, HashSet, VecDeque};

use crate::error::GraphProblem;
use crate::types::{END, START};

/// The names-only view of a builder that validation needs.
#[derive(Debug, Default, Clone)]
pub(crate) struct Outline {
    /// Node names in insertion order, and whether each takes a `SendTo` payload.
    pub(crate) nodes: Vec<(String, bool)>,
    pub(crate) edges: Vec<(String, String)>,
    pub(crate) joins: Vec<(Vec<String>, String)>,
    /// Route source and declared targets.
    pub(crate) routes: Vec<(String, Vec<String>)>,
    /// Declared command targets per node.
    pub(crate) gotos: Vec<(String, Vec<String>)>,
    /// Other places that name nodes: (context, name).
    pub(crate) mentions: Vec<(String, String)>,
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n != START && n != END && !n.contains('|') && !n.contains(':')
}

/// Returns every problem of the outline (empty when it is valid).
pub(crate) fn validate(o: &Outline) -> Vec<GraphProblem> {
    let mut problems = Vec::new();
    let mut known: HashSet<&str> = HashSet::new();
    for (n, _) in &o.nodes {
        if !valid_name(n) {
            problems.push(GraphProblem::InvalidName(n.clone()));
        } else if !known.insert(n.as_str()) {
            problems.push(GraphProblem::DuplicateNode(n.clone()));
        }
    }
    let payload: HashSet<&str> = o
        .nodes
        .iter()
        .filter(|(_, p)| *p)
        .map(|(n, _)| n.as_str())
        .collect();
    let unknown = |context: String, name: &str, problems: &mut Vec<GraphProblem>| {
        if !known.contains(name) {
            problems.push(GraphProblem::UnknownNode {
                context,
                name: name.to_string(),
            });
        }
    };

    // successors for reachability; "has a way out" per node
    let mut succ: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut way_out: HashSet<&str> = HashSet::new();

    for (from, to) in &o.edges {
        let ctx = format!("edge `{from}` -> `{to}`");
        if from == END || to == START {
            problems.push(GraphProblem::InvalidEdge {
                from: from.clone(),
                to: to.clone(),
            });
            continue;
        }
        if from != START {
            unknown(ctx.clone(), from, &mut problems);
        }
        if to != END {
            unknown(ctx, to, &mut problems);
            if payload.contains(to.as_str()) {
                problems.push(GraphProblem::PayloadNodeOnEdge {
                    node: to.clone(),
                    from: from.clone(),
                });
            }
        }
        succ.entry(from.as_str()).or_default().push(to.as_str());
        way_out.insert(from.as_str());
    }
    for (sources, target) in &o.joins {
        let ctx = format!("join into `{target}`");
        if sources.is_empty() {
            problems.push(GraphProblem::EmptyJoin(target.clone()));
        }
        unknown(ctx.clone(), target, &mut problems);
        if payload.contains(target.as_str()) {
            problems.push(GraphProblem::PayloadNodeOnEdge {
                node: target.clone(),
                from: sources.join("+"),
            });
        }
        for s in sources {
            unknown(ctx.clone(), s, &mut problems);
            succ.entry(s.as_str()).or_default().push(target.as_str());
            way_out.insert(s.as_str());
        }
    }
    for (from, targets) in &o.routes {
        let ctx = format!("route from `{from}`");
        if from == END {
            problems.push(GraphProblem::InvalidEdge {
                from: from.clone(),
                to: "(route)".into(),
            });
            continue;
        }
        if from != START {
            unknown(ctx.clone(), from, &mut problems);
        }
        if targets.is_empty() {
            problems.push(GraphProblem::EmptyRoute(from.clone()));
        }
        for t in targets {
            if t != END {
                unknown(ctx.clone(), t, &mut problems);
            }
            succ.entry(from.as_str()).or_default().push(t.as_str());
        }
        way_out.insert(from.as_str());
    }
    for (node, targets) in &o.gotos {
        let ctx = format!("goto_targets of `{node}`");
        unknown(ctx.clone(), node, &mut problems);
        for t in targets {
            if t != END {
                unknown(ctx.clone(), t, &mut problems);
            }
            succ.entry(node.as_str()).or_default().push(t.as_str());
        }
        way_out.insert(node.as_str());
    }
    for (ctx, name) in &o.mentions {
        unknown(ctx.clone(), name, &mut problems);
    }

    if !way_out.contains(START) {
        problems.push(GraphProblem::NoEntry);
    } else {
        let mut seen: HashSet<&str> = HashSet::from([START]);
        let mut queue = VecDeque::from([START]);
        while let Some(n) = queue.pop_front() {
            for &t in succ.get(n).map(Vec::as_slice).unwrap_or(&[]) {
                if seen.insert(t) {
                    queue.push_back(t);
                }
            }
        }
        let mut reported: HashSet<&str> = HashSet::new();
        for (n, _) in &o.nodes {
            if known.contains(n.as_str())
                && !seen.contains(n.as_str())
                && reported.insert(n.as_str())
            {
                problems.push(GraphProblem::Unreachable(n.clone()));
            }
        }
    }
    let mut reported: HashSet<&str> = HashSet::new();
    for (n, _) in &o.nodes {
        if valid_name(n) && !way_out.contains(n.as_str()) && reported.insert(n.as_str()) {
            problems.push(GraphProblem::DeadEnd(n.clone()));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outline(nodes: &[&str]) -> Outline {
        Outline {
            nodes: nodes.iter().map(|n| (n.to_string(), false)).collect(),
            ..Default::default()
        }
    }
    fn e(a: &str, b: &str) -> (String, String) {
        (a.into(), b.into())
    }

    #[test]
    fn a_valid_chain_has_no_problems() {
        let mut o = outline(&["a", "b"]);
        o.edges = vec![e(START, "a"), e("a", "b"), e("b", END)];
        assert_eq!(validate(&o), vec![]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut o = outline(&["a", "a", "b", "orphan", START, "x|y"]);
        o.edges = vec![e("a", "ghost"), e("b", END), e(END, "a")];
        o.routes = vec![("b".into(), vec![])];
        o.mentions = vec![("interrupt_before".into(), "nope".into())];
        let p = validate(&o);
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
        let mut o = outline(&["a", "b", "c"]);
        o.edges = vec![e(START, "a"), e("b", END), e("c", END)];
        o.gotos = vec![("a".into(), vec!["b".into()])];
        let p = validate(&o);
        assert_eq!(p, vec![GraphProblem::Unreachable("c".into())]);
    }

    #[test]
    fn joins_count_as_ways_out_and_payload_nodes_need_sends() {
        let mut o = outline(&["a", "b", "j"]);
        o.nodes.push(("w".into(), true));
        o.edges = vec![
            e(START, "a"),
            e(START, "b"),
            e("j", END),
            e("a", "w"),
            e("w", END),
        ];
        o.joins = vec![
            (vec!["a".into(), "b".into()], "j".into()),
            (vec![], "j".into()),
        ];
        let p = validate(&o);
        assert_eq!(
            p,
            vec![
                GraphProblem::PayloadNodeOnEdge {
                    node: "w".into(),
                    from: "a".into()
                },
                GraphProblem::EmptyJoin("j".into())
            ]
        );
    }
}
