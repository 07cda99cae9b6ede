//! Pure planning: which tasks run next, from the tasks that just finished and their routes.
//!
//! Nothing here is async or knows the state type; the loop calls these functions at every
//! superstep barrier, and they are tested without a runtime. Cost is proportional to the work
//! of the superstep (finished tasks and their edges), never to the size of the graph.

use std::sync::Arc;

use super::plan::{Dest, NodeId, Shape};
use crate::types::{END, SendArg, Target};

/// A destination resolved to a node id.
#[derive(Clone)]
pub(crate) enum Resolved {
    Node(NodeId),
    End,
    Send(NodeId, Arc<dyn SendArg>),
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Node(n) => write!(f, "Node({n})"),
            Self::End => f.write_str("End"),
            Self::Send(n, a) => write!(f, "Send({n}, {:?})", a.to_json().ok()),
        }
    }
}

/// A `SendTo` task waiting for the next superstep.
#[derive(Clone)]
pub(crate) struct PushTask {
    pub(crate) node: NodeId,
    pub(crate) arg: Arc<dyn SendArg>,
}

/// Why a route could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteError {
    /// The destination is not among the declared ones.
    Undeclared {
        target: String,
        declared: Vec<String>,
    },
    /// The destination is not a node.
    Unknown { target: String },
}

/// Cross-superstep bookkeeping: what runs next, join barriers, waiting deferred nodes.
#[derive(Clone, Default)]
pub(crate) struct Control {
    /// Edge-triggered tasks of the next superstep (rank order after `end_step`).
    pub(crate) pull: Vec<NodeId>,
    /// `SendTo` tasks of the next superstep, in emission order.
    pub(crate) push: Vec<PushTask>,
    /// Per join: the sources that finished since its target last ran.
    pub(crate) barriers: Vec<Vec<NodeId>>,
    /// Deferred nodes that were triggered and wait for quiescence (rank order).
    pub(crate) deferred: Vec<NodeId>,
    mark: Vec<u32>,
    epoch: u32,
}

impl Control {
    pub(crate) fn new(shape: &Shape) -> Self {
        Self {
            pull: Vec::new(),
            push: Vec::new(),
            barriers: vec![Vec::new(); shape.joins.len()],
            deferred: Vec::new(),
            mark: vec![0; shape.names.len()],
            epoch: 0,
        }
    }

    /// True when nothing is scheduled.
    #[cfg(test)]
    pub(crate) fn is_idle(&self) -> bool {
        self.pull.is_empty() && self.push.is_empty() && self.deferred.is_empty()
    }

    /// Starts collecting the tasks of a new superstep (the previous ones were taken).
    pub(crate) fn begin_step(&mut self) {
        self.pull.clear();
        self.push.clear();
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.mark.iter_mut().for_each(|m| *m = u32::MAX);
            self.epoch = 1;
        }
    }

    fn trigger(&mut self, shape: &Shape, node: NodeId) {
        let i = node as usize;
        if shape.is_deferred(node) {
            if !self.deferred.contains(&node) {
                self.deferred.push(node);
            }
            return;
        }
        if self.mark.get(i) != Some(&self.epoch) {
            if let Some(m) = self.mark.get_mut(i) {
                *m = self.epoch;
            }
            self.pull.push(node);
        }
    }

    /// Records that `from` (a node id, or `shape.start()` for the input) finished, with the
    /// destinations its routers and command chose.
    pub(crate) fn finished(&mut self, shape: &Shape, from: usize, routes: &[Resolved]) {
        let out = shape.out(from);
        {
            for d in out.to {
                if let Dest::Node(n) = *d {
                    self.trigger(shape, n);
                }
            }
            for &j in out.joins {
                let Some(join) = shape.joins.get(j as usize) else {
                    continue;
                };
                let Some(seen) = self.barriers.get_mut(j as usize) else {
                    continue;
                };
                let src = from as NodeId;
                if !seen.contains(&src) {
                    seen.push(src);
                }
                if join.sources.iter().all(|s| seen.contains(s)) {
                    seen.clear();
                    let target = join.target;
                    self.trigger(shape, target);
                }
            }
        }
        for r in routes {
            match r {
                Resolved::Node(n) => self.trigger(shape, *n),
                Resolved::End => {}
                Resolved::Send(n, arg) => self.push.push(PushTask {
                    node: *n,
                    arg: arg.clone(),
                }),
            }
        }
    }

    /// Finishes planning: orders edge-triggered tasks by node name and releases deferred nodes
    /// when nothing else is runnable.
    pub(crate) fn end_step(&mut self, shape: &Shape) {
        if self.pull.is_empty() && self.push.is_empty() && !self.deferred.is_empty() {
            self.pull = std::mem::take(&mut self.deferred);
        }
        if self.pull.len() > 1 {
            self.pull.sort_unstable_by_key(|&n| shape.rank(n));
        }
        if self.deferred.len() > 1 {
            self.deferred.sort_unstable_by_key(|&n| shape.rank(n));
        }
    }

    /// Adds destinations to the scheduled tasks: a node already due is not added twice, sends
    /// come after the scheduled ones.
    pub(crate) fn schedule(&mut self, shape: &Shape, routes: &[Resolved]) {
        if routes.is_empty() {
            return;
        }
        for r in routes {
            match r {
                Resolved::Node(n) if !self.pull.contains(n) => self.pull.push(*n),
                Resolved::Node(_) | Resolved::End => {}
                Resolved::Send(n, arg) => self.push.push(PushTask {
                    node: *n,
                    arg: arg.clone(),
                }),
            }
        }
        if self.pull.len() > 1 {
            self.pull.sort_unstable_by_key(|&n| shape.rank(n));
        }
    }

    /// Drops the scheduled tasks (new input on an existing thread, or `update_state`).
    pub(crate) fn clear_scheduled(&mut self) {
        self.pull.clear();
        self.push.clear();
    }
}

/// Resolves a router's result against its declared destinations.
pub(crate) fn resolve_route(
    shape: &Shape,
    router: usize,
    targets: &[Target],
    out: &mut Vec<Resolved>,
) -> Result<(), RouteError> {
    let Some(r) = shape.routers.get(router) else {
        return Ok(());
    };
    let declared = |name: &str| r.declared.iter().find(|(n, _)| n == name).map(|(_, d)| *d);
    let undeclared = |name: &str| RouteError::Undeclared {
        target: name.to_string(),
        declared: r.declared.iter().map(|(n, _)| n.to_string()).collect(),
    };
    for t in targets {
        match t {
            Target::Node(name) => match declared(name) {
                Some(Dest::Node(n)) => out.push(Resolved::Node(n)),
                Some(Dest::End) => out.push(Resolved::End),
                None => return Err(undeclared(name)),
            },
            Target::End => {
                if r.declared.iter().any(|(_, d)| *d == Dest::End) {
                    out.push(Resolved::End);
                } else {
                    return Err(undeclared(END));
                }
            }
            Target::Send(s) => {
                let Some(Dest::Node(n)) = r
                    .declared
                    .iter()
                    .find(|(_, d)| matches!(d, Dest::Node(n) if shape.name(*n) == s.node()))
                    .map(|(_, d)| *d)
                else {
                    return Err(undeclared(s.node()));
                };
                out.push(Resolved::Send(n, s.arg.clone()));
            }
        }
    }
    Ok(())
}

/// Resolves command destinations; `declared` limits them when the node declared targets.
pub(crate) fn resolve_goto(
    shape: &Shape,
    declared: Option<&[Dest]>,
    targets: &[Target],
    out: &mut Vec<Resolved>,
) -> Result<(), RouteError> {
    for t in targets {
        let (name, dest) = match t {
            Target::End => {
                out.push(Resolved::End);
                continue;
            }
            Target::Node(name) => (name.as_ref(), Resolved::Node(0)),
            Target::Send(s) => (s.node(), Resolved::Send(0, s.arg.clone())),
        };
        let Some(id) = shape.id(name) else {
            return Err(RouteError::Unknown {
                target: name.to_string(),
            });
        };
        if let Some(decl) = declared
            && !decl.contains(&Dest::Node(id))
        {
            return Err(RouteError::Undeclared {
                target: name.to_string(),
                declared: decl
                    .iter()
                    .map(|d| shape.dest_name(*d).to_string())
                    .collect(),
            });
        }
        out.push(match dest {
            Resolved::Send(_, a) => Resolved::Send(id, a),
            _ => Resolved::Node(id),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pregel::plan::{JoinDef, RouterShape};
    use crate::types::SendTo;

    fn shape(names: &[&'static str]) -> Shape {
        Shape::from_lists(names, vec![], vec![], vec![])
    }

    #[test]
    fn edge_triggered_tasks_run_once_in_name_order() {
        let s = Shape::from_lists(
            &["zeta", "alpha", "mid", "join"],
            vec![
                (4, vec![Dest::Node(0), Dest::Node(1), Dest::Node(2)]),
                (0, vec![Dest::Node(3)]),
                (1, vec![Dest::Node(3)]),
                (2, vec![Dest::Node(3)]),
            ],
            vec![],
            vec![],
        );
        let st = s.start();
        let mut c = Control::new(&s);
        c.begin_step();
        c.finished(&s, st, &[]);
        c.end_step(&s);
        assert_eq!(c.pull, vec![1, 2, 0]); // alpha, mid, zeta
        c.begin_step();
        for i in [0, 1, 2] {
            c.finished(&s, i, &[]);
        }
        c.end_step(&s);
        assert_eq!(c.pull, vec![3]); // join once, not three times
    }

    #[test]
    fn join_waits_across_supersteps_and_resets() {
        // START -> a -> b; START -> c; join([b, c], d)
        let s = Shape::from_lists(
            &["a", "b", "c", "d"],
            vec![
                (4, vec![Dest::Node(0), Dest::Node(2)]),
                (0, vec![Dest::Node(1)]),
            ],
            vec![JoinDef {
                name: "j".into(),
                sources: vec![1, 2],
                target: 3,
            }],
            vec![],
        );
        let st = s.start();
        let mut c = Control::new(&s);
        c.begin_step();
        c.finished(&s, st, &[]);
        c.end_step(&s);
        assert_eq!(c.pull, vec![0, 2]);
        c.begin_step();
        c.finished(&s, 0, &[]);
        c.finished(&s, 2, &[]);
        c.end_step(&s);
        assert_eq!(c.pull, vec![1]);
        assert_eq!(c.barriers[0], vec![2]);
        c.begin_step();
        c.finished(&s, 1, &[]);
        c.end_step(&s);
        assert_eq!(c.pull, vec![3]);
        assert!(c.barriers[0].is_empty());
    }

    #[test]
    fn deferred_node_waits_for_quiescence() {
        // START -> a -> b -> d; START -> c -> d; d deferred
        let s = Shape::from_lists(
            &["a", "b", "c", "d"],
            vec![
                (4, vec![Dest::Node(0), Dest::Node(2)]),
                (0, vec![Dest::Node(1)]),
                (1, vec![Dest::Node(3)]),
                (2, vec![Dest::Node(3)]),
            ],
            vec![],
            vec![3],
        );
        let st = s.start();
        let mut c = Control::new(&s);
        c.begin_step();
        c.finished(&s, st, &[]);
        c.end_step(&s);
        c.begin_step();
        c.finished(&s, 0, &[]);
        c.finished(&s, 2, &[]);
        c.end_step(&s);
        assert_eq!(c.pull, vec![1]);
        assert_eq!(c.deferred, vec![3]);
        c.begin_step();
        c.finished(&s, 1, &[]);
        c.end_step(&s);
        assert_eq!(c.pull, vec![3]);
        assert!(c.deferred.is_empty());
        c.begin_step();
        c.finished(&s, 3, &[]);
        c.end_step(&s);
        assert!(c.is_idle());
    }

    #[test]
    fn sends_keep_emission_order_after_pulls() {
        let s = shape(&["normal", "w"]);
        let mut c = Control::new(&s);
        c.begin_step();
        let a = |v: i32| -> Arc<dyn SendArg> { Arc::new(v) };
        c.finished(
            &s,
            s.start(),
            &[
                Resolved::Send(1, a(3)),
                Resolved::Node(0),
                Resolved::Send(1, a(1)),
                Resolved::End,
            ],
        );
        c.end_step(&s);
        assert_eq!(c.pull, vec![0]);
        let args: Vec<i32> = c
            .push
            .iter()
            .map(|p| *p.arg.as_any().downcast_ref::<i32>().unwrap())
            .collect();
        assert_eq!(args, [3, 1]);
    }

    #[test]
    fn routes_must_be_declared() {
        let mut s = shape(&["small", "big", "w"]);
        s.routers = vec![RouterShape {
            declared: vec![
                ("small".into(), Dest::Node(0)),
                ("stop".into(), Dest::End),
                ("w".into(), Dest::Node(2)),
            ],
            labels: true,
        }];
        let mut out = vec![];
        resolve_route(
            &s,
            0,
            &[Target::node("small"), Target::node("stop")],
            &mut out,
        )
        .unwrap();
        assert!(matches!(out[..], [Resolved::Node(0), Resolved::End]));
        let err = resolve_route(&s, 0, &[Target::node("big")], &mut out).unwrap_err();
        assert!(matches!(err, RouteError::Undeclared { ref target, .. } if target == "big"));
        out.clear();
        resolve_route(&s, 0, &[Target::Send(SendTo::new("w", 1))], &mut out).unwrap();
        assert!(matches!(out[..], [Resolved::Send(2, _)]));
        let err =
            resolve_route(&s, 0, &[Target::Send(SendTo::new("big", 1))], &mut out).unwrap_err();
        assert!(matches!(err, RouteError::Undeclared { .. }));
    }

    #[test]
    fn gotos_check_names_and_declarations() {
        let s = shape(&["b", "c"]);
        let mut out = vec![];
        resolve_goto(&s, None, &[Target::node("c"), Target::End], &mut out).unwrap();
        assert!(matches!(out[..], [Resolved::Node(1), Resolved::End]));
        let e = resolve_goto(&s, None, &[Target::node("zz")], &mut out).unwrap_err();
        assert_eq!(
            e,
            RouteError::Unknown {
                target: "zz".into()
            }
        );
        let decl = [Dest::Node(0)];
        let e = resolve_goto(&s, Some(&decl), &[Target::node("c")], &mut out).unwrap_err();
        assert!(matches!(e, RouteError::Undeclared { .. }));
    }

    #[test]
    fn scheduled_destinations_join_the_due_tasks_once_in_name_order() {
        let s = shape(&["zeta", "alpha", "mid"]);
        let mut c = Control::new(&s);
        c.pull.push(0);
        c.push.push(PushTask {
            node: 2,
            arg: SendTo::new("mid", 1).arg,
        });
        let arg = SendTo::new("mid", 2).arg;
        c.schedule(
            &s,
            &[
                Resolved::Node(1),
                Resolved::Node(0),
                Resolved::End,
                Resolved::Send(2, arg),
            ],
        );
        assert_eq!(c.pull, [1, 0], "alpha before zeta, zeta once");
        assert_eq!(c.push.len(), 2, "the send after the one already due");
        c.schedule(&s, &[]);
        assert_eq!(c.pull, [1, 0]);
    }
}
