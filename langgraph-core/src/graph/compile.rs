//! Lowering a validated builder to a [`Program`].

use std::collections::HashMap;
use std::sync::Arc;

use super::builder::{NodeSetting, StateGraph};
use super::validate::{Outline, validate};
use crate::error::GraphError;
use crate::node::InputKind;
use crate::pregel::plan::{Dest, JoinDef, NodeExec, NodeId, OutEdges, Program, RouterShape, Shape};
use crate::state::State;
use crate::types::{END, START};

fn outline<S: State, O>(g: &StateGraph<S, O>) -> Outline {
    let mut o = Outline {
        nodes: g
            .nodes
            .iter()
            .map(|n| {
                (
                    n.name.clone(),
                    matches!(n.node.input_kind(), InputKind::Payload(_)),
                )
            })
            .collect(),
        edges: g.edges.clone(),
        joins: g.joins.clone(),
        routes: g
            .routes
            .iter()
            .map(|r| (r.from.clone(), r.targets.clone()))
            .collect(),
        ..Outline::default()
    };
    for (node, setting) in &g.settings {
        match setting {
            NodeSetting::GotoTargets(t) => o.gotos.push((node.clone(), t.clone())),
            NodeSetting::Defer => o.mentions.push(("defer".into(), node.clone())),
            NodeSetting::Retry(_) => o.mentions.push(("retry".into(), node.clone())),
            NodeSetting::Timeout(_) => o.mentions.push(("timeout".into(), node.clone())),
        }
    }
    for n in &g.interrupt_before {
        o.mentions.push(("interrupt_before".into(), n.clone()));
    }
    for n in &g.interrupt_after {
        o.mentions.push(("interrupt_after".into(), n.clone()));
    }
    o
}

/// Validates and lowers the builder.
pub(crate) fn lower<S: State, O>(g: StateGraph<S, O>) -> Result<Program<S>, GraphError> {
    let problems = validate(&outline(&g));
    if !problems.is_empty() {
        return Err(GraphError { problems });
    }
    let n = g.nodes.len();
    let names: Vec<Arc<str>> = g.nodes.iter().map(|s| Arc::from(s.name.as_str())).collect();
    let by_name: HashMap<String, NodeId> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i as NodeId))
        .collect();
    let id = |name: &str| by_name.get(name).copied().unwrap_or(0);
    let dest = |name: &str| {
        if name == END {
            Dest::End
        } else {
            Dest::Node(id(name))
        }
    };
    let src = |name: &str| {
        if name == START { n } else { id(name) as usize }
    };

    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let mut rank = vec![0u32; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r as u32;
    }

    let mut exec: Vec<NodeExec<S>> = g
        .nodes
        .iter()
        .map(|s| NodeExec {
            node: s.node.clone(),
            retry: s.retry.clone(),
            timeout: s.timeout,
        })
        .collect();
    let mut deferred: Vec<bool> = g.nodes.iter().map(|s| s.deferred).collect();
    let mut goto: Vec<Option<Vec<Dest>>> = vec![None; n];
    for (node, setting) in g.settings {
        let i = id(&node) as usize;
        match setting {
            NodeSetting::Defer => deferred[i] = true,
            NodeSetting::Retry(p) => exec[i].retry = Some(p),
            NodeSetting::Timeout(t) => exec[i].timeout = Some(t),
            NodeSetting::GotoTargets(t) => goto[i]
                .get_or_insert_with(Vec::new)
                .extend(t.iter().map(|x| dest(x))),
        }
    }

    let mut out = vec![OutEdges::default(); n + 1];
    for (from, to) in &g.edges {
        out[src(from)].to.push(dest(to));
    }
    let mut joins = Vec::new();
    for (j, (sources, target)) in g.joins.iter().enumerate() {
        let sources_ids: Vec<NodeId> = sources.iter().map(|s| id(s)).collect();
        for &s in &sources_ids {
            out[s as usize].joins.push(j as u32);
        }
        joins.push(JoinDef {
            name: format!("join:{}:{}", sources.join("+"), target),
            sources: sources_ids,
            target: id(target),
        });
    }
    let mut routers = Vec::new();
    let mut router_fns = Vec::new();
    for (r, spec) in g.routes.into_iter().enumerate() {
        out[src(&spec.from)].routers.push(r as u32);
        let (declared, labels) = match spec.path_map {
            Some(map) => (
                map.iter()
                    .map(|(label, t)| (label.clone(), dest(t)))
                    .collect(),
                true,
            ),
            None => (
                spec.targets.iter().map(|t| (t.clone(), dest(t))).collect(),
                false,
            ),
        };
        routers.push(RouterShape { declared, labels });
        router_fns.push(spec.router);
    }
    let interrupt_before = g.interrupt_before.iter().map(|s| id(s)).collect();
    let interrupt_after = g.interrupt_after.iter().map(|s| id(s)).collect();
    Ok(Program {
        shape: Shape {
            names,
            by_name,
            rank,
            deferred,
            out,
            routers,
            joins,
            goto,
        },
        exec,
        router_fns,
        interrupt_before,
        interrupt_after,
        name: g.name,
    })
}
