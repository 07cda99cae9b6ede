//! Lowering a builder to a [`Program`]: names resolved once through a sorted table, edges laid
//! out in compressed rows, and every problem collected (see `validate.rs` for the checks).
//!
//! Compiling is on the path of short-lived graphs (built per request), so it keeps the number
//! of allocations small and independent of the number of edges.

use std::sync::Arc;

use super::builder::{ErrorHandler, Name, NodeSetting, StateGraph};
use super::validate::{check_names, check_structure};
use crate::cache::{CachePolicy, InMemoryCache, NodeCache};
use crate::error::GraphError;
use crate::node::InputKind;
use crate::pregel::names::NameIndex;
use crate::pregel::plan::{
    Dest, JoinDef, NodeExec, NodeId, NodeMeta, OutItem, OutTable, Program, RouterShape, Shape,
};
use crate::state::State;
use crate::types::{END, START};

/// The joins among the settings, as (sources, target), in declaration order (a join's index
/// in this order is its index in `Shape::joins`).
fn joins_of(settings: &[(Name, NodeSetting)]) -> impl Iterator<Item = (&[Name], &Name)> {
    settings.iter().filter_map(|(target, s)| match s {
        NodeSetting::JoinFrom(sources) => Some((&sources[..], target)),
        _ => None,
    })
}

/// Resolves `name`, reporting it as unknown in `context` if it is not a node.
fn known(
    problems: &mut Vec<crate::error::GraphProblem>,
    id: &impl Fn(&str) -> Option<NodeId>,
    context: &str,
    name: &str,
) -> Option<NodeId> {
    let found = id(name);
    if found.is_none() {
        problems.push(crate::error::GraphProblem::UnknownNode {
            context: context.to_string(),
            name: name.to_string(),
        });
    }
    found
}

/// Validates and lowers the builder.
pub(crate) fn lower<S: State, O>(mut g: StateGraph<S, O>) -> Result<Program<S>, GraphError> {
    let n = g.nodes.len();
    let names: Arc<[Name]> = g
        .nodes
        .iter_mut()
        .map(|s| std::mem::take(&mut s.name))
        .collect();
    let index = NameIndex::new(&names);
    let id = |name: &str| index.find(&names, name);
    let payload = |i: NodeId| {
        g.nodes
            .get(i as usize)
            .is_some_and(|s| matches!(s.node.input_kind(), InputKind::Payload(_)))
    };
    let mut edges = Vec::with_capacity(g.edges.len());
    let mut problems = check_names(&g, &names, &index, payload, &mut edges);

    // Unknown names were reported above; lowering skips them so that structural problems are
    // reported in the same pass.
    let dest = |name: &str| {
        if name == END {
            Some(Dest::End)
        } else {
            id(name).map(Dest::Node)
        }
    };
    let src = |name: &str| {
        if name == START {
            Some(n)
        } else {
            id(name).map(|i| i as usize)
        }
    };
    let out = OutTable::build(n + 1, |emit| {
        for &(f, d) in &edges {
            emit(f, OutItem::To(d));
        }
        for (r, spec) in g.routes.iter().enumerate() {
            if let Some(f) = src(&spec.from) {
                emit(f, OutItem::Router(r as u32));
            }
        }
        for (j, (sources, _)) in joins_of(&g.settings).enumerate() {
            for s in sources {
                if let Some(f) = id(s) {
                    emit(f as usize, OutItem::Join(j as u32));
                }
            }
        }
    });

    let mut meta = vec![NodeMeta::default(); n];
    index.ranks(&names, |i, r| meta[i as usize].rank = r);
    let mut exec: Vec<NodeExec<S>> = g
        .nodes
        .drain(..)
        .map(|spec| NodeExec {
            node: spec.node,
            retry: None,
            timeout: None,
        })
        .collect();
    let joins: Vec<JoinDef> = joins_of(&g.settings)
        .map(|(sources, target)| JoinDef {
            name: format!(
                "join:{}:{target}",
                sources
                    .iter()
                    .map(AsRef::as_ref)
                    .collect::<Vec<&str>>()
                    .join("+")
            ),
            sources: sources.iter().filter_map(|s| id(s)).collect(),
            target: id(target).unwrap_or(0),
        })
        .collect();
    let mut goto_to = Vec::new();
    let mut interrupt_before = Vec::new();
    let mut interrupt_after = Vec::new();
    let mut cache_policy: Vec<Option<CachePolicy>> = Vec::new();
    for (node, setting) in g.settings {
        if node.as_ref() == crate::types::ALL_NODES {
            match setting {
                NodeSetting::InterruptBefore => interrupt_before.extend(0..n as NodeId),
                NodeSetting::InterruptAfter => interrupt_after.extend(0..n as NodeId),
                _ => {}
            }
            continue;
        }
        let Some(i) = id(&node).map(|i| i as usize) else {
            continue;
        };
        match setting {
            NodeSetting::JoinFrom(_) => {}
            NodeSetting::InterruptBefore => interrupt_before.push(i as NodeId),
            NodeSetting::InterruptAfter => interrupt_after.push(i as NodeId),
            NodeSetting::Defer => meta[i].deferred = true,
            NodeSetting::Retry(p) => exec[i].retry = Some(p),
            NodeSetting::Timeout(t) => exec[i].timeout = Some(t),
            NodeSetting::Cache(p) => {
                cache_policy.resize(n, None);
                cache_policy[i] = Some(p);
            }
            NodeSetting::GotoTargets(t) => {
                // A later declaration for the same node replaces an earlier one.
                let a = goto_to.len() as u32;
                goto_to.extend(t.iter().filter_map(|x| dest(x)));
                meta[i].goto = Some((a, goto_to.len() as u32));
            }
        }
    }

    let routers: Vec<RouterShape> = g
        .routes
        .iter()
        .map(|spec| match &spec.path_map {
            Some(map) => RouterShape {
                declared: map
                    .iter()
                    .filter_map(|(label, t)| Some((label.clone(), dest(t)?)))
                    .collect(),
                labels: true,
            },
            None => RouterShape {
                declared: spec
                    .targets
                    .iter()
                    .filter_map(|t| Some((t.clone(), dest(t)?)))
                    .collect(),
                labels: false,
            },
        })
        .collect();
    let extras = g.extras.map(|e| *e).unwrap_or_default();
    if let Some(policy) = &extras.retry_default {
        for e in exec.iter_mut().filter(|e| e.retry.is_none()) {
            e.retry = Some(policy.clone());
        }
    }
    let mut handlers: Vec<Option<(NodeId, ErrorHandler<S>)>> = Vec::new();
    let mut fallbacks = Vec::new();
    for (node, fallback, handler) in extras.handlers {
        let from = known(&mut problems, &id, "on_error", &node);
        let to = known(
            &mut problems,
            &id,
            &format!("on_error fallback of `{node}`"),
            &fallback,
        );
        if let (Some(from), Some(to)) = (from, to) {
            handlers.resize_with(n, || None);
            handlers[from as usize] = Some((to, handler));
            fallbacks.push((from, to));
        }
    }
    let children = extras
        .children
        .into_iter()
        .filter_map(|(node, shape, name)| Some((id(&node)?, Arc::new(shape), name)))
        .collect();
    let cache = match (&extras.cache_store, cache_policy.is_empty()) {
        (_, true) => None,
        (Some(store), false) => Some(store.clone()),
        (None, false) => Some(Arc::new(InMemoryCache::new()) as Arc<dyn NodeCache>),
    };
    let shape = Shape {
        names,
        index,
        meta,
        out,
        routers,
        joins,
        goto_to,
        fallbacks,
        children,
    };
    check_structure(&shape, &mut problems);
    if !problems.is_empty() {
        return Err(GraphError { problems });
    }
    Ok(Program {
        shape,
        exec,
        handlers,
        cache_policy,
        cache,
        router_fns: g.routes.into_iter().map(|r| r.router).collect(),
        interrupt_before,
        interrupt_after,
        name: g.name,
        saved_names: std::sync::OnceLock::new(),
    })
}
