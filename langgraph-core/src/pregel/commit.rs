//! Committing a superstep: routing on each task's view, applying writes in task order,
//! resetting ephemeral channels, planning the next superstep and checkpointing it.

use langgraph_checkpoint::{SharedStr, SmallMap, Source};

use super::algo::{Resolved, RouteError, resolve_goto, resolve_route};
use super::plan::NodeId;
use super::run_loop::Loop;
use super::scratch::emptied;
use crate::config::Durability;
use crate::error::RunError;
use crate::node::NodeOutput;
use crate::state::{State, StateUpdate};
use crate::stream::{StreamEvent, StreamMode};
use crate::types::Command;
use crate::write_set::{INPUT_WRITER, StepWrites, WriteConflict};

impl<S: State> Loop<'_, S> {
    fn conflict(&self, c: WriteConflict, step: i64, names: &[String]) -> RunError {
        let who = |w: u32| {
            names
                .get(w as usize)
                .cloned()
                .unwrap_or_else(|| "the input".to_string())
        };
        RunError::InvalidUpdate {
            channel: S::info()
                .channels
                .get(c.channel)
                .map(|c| c.name.to_string())
                .unwrap_or_default(),
            first: who(c.first),
            second: who(c.second),
            step,
        }
    }

    fn route_error(&self, from: &str, e: RouteError) -> RunError {
        match e {
            RouteError::Undeclared { target, declared } => RunError::UndeclaredTarget {
                from: from.to_string(),
                target,
                declared,
            },
            RouteError::Unknown { target } => RunError::UnknownNode {
                context: format!("Command from `{from}`"),
                name: target,
            },
        }
    }

    /// Evaluates the routers of `from` on `view` into `out`.
    fn eval_routers(&self, from: usize, view: &S, out: &mut Vec<Resolved>) -> Result<(), RunError> {
        let shape = &self.prog.shape;
        let name = if from == shape.start() {
            crate::types::START
        } else {
            shape.name(from as NodeId)
        };
        for &r in shape.out(from).routers {
            let route = (self.prog.router_fns[r as usize])(view);
            resolve_route(shape, r as usize, route.targets(), out)
                .map_err(|e| self.route_error(name, e))?;
        }
        Ok(())
    }

    /// Applies the outputs of finished tasks (task order), routes, plans the next superstep
    /// and checkpoints it.
    pub(crate) fn commit(
        &mut self,
        step: i64,
        done: Vec<(usize, NodeOutput<S>)>,
    ) -> Result<(), RunError> {
        self.commit_as(step, done, Source::Loop)
    }

    /// [`commit`](Self::commit), checkpointed with `source`.
    pub(crate) fn commit_as(
        &mut self,
        step: i64,
        mut done: Vec<(usize, NodeOutput<S>)>,
        source: Source,
    ) -> Result<(), RunError> {
        let shape = &self.prog.shape;
        // Node names are needed only for checkpoint metadata.
        let names: Vec<SharedStr> = match &self.persist {
            Some(p) => self.tasks.iter().map(|t| p.node_name(t.node)).collect(),
            None => Vec::new(),
        };
        let mut routes = std::mem::take(&mut self.routes);
        routes.resize_with(self.tasks.len(), Vec::new);
        routes.iter_mut().for_each(Vec::clear);
        let mut updates = emptied(&mut self.scratch.updates, done.len());
        for (i, out) in done.drain(..) {
            if let NodeOutput::Command(c) = &out
                && c.to_parent
            {
                return Err(self.parent_command(i, c));
            }
            let (update, command) = out.into_parts();
            if let Some(cmd) = command {
                self.resolve_command(i, &cmd, &mut routes[i])?;
            }
            updates.push((i, update));
        }
        self.scratch.done = done;
        let writers = updates.iter().filter(|(_, u)| !u.is_empty()).count();
        // With a single writer, its routers run once its update is applied.
        let mut after_apply: Option<usize> = None;
        for (i, update) in &updates {
            let node = self.tasks[*i].node as usize;
            if shape.out(node).routers.is_empty() || self.fallback_of(*i).is_some() {
                continue;
            }
            if update.is_empty() {
                let mut r = std::mem::take(&mut routes[*i]);
                self.eval_routers(node, &self.state, &mut r)?;
                routes[*i] = r;
            } else if writers == 1 {
                after_apply = Some(*i);
            } else {
                let mut view = self.state.clone();
                let mut scratch = StepWrites::new(S::info().channels.len());
                let _ = view.apply(update.clone(), &mut scratch);
                let mut r = std::mem::take(&mut routes[*i]);
                self.eval_routers(node, &view, &mut r)?;
                routes[*i] = r;
            }
        }
        let seen = self.persist.as_ref().map(|p| p.versions());
        self.writes.clear();
        // START, due with other tasks: its input goes first, as the input's, and its routers
        // see it applied.
        let start_routes = match self.due_input.take() {
            Some(input) => match self.apply_due_input(input, step) {
                Ok(r) => Some(r),
                Err(e) => {
                    self.routes = routes;
                    return Err(e);
                }
            },
            None => None,
        };
        if !self.saved.is_empty() {
            // Updates given with the resume of this superstep go first, as the input's.
            for update in self.resume_updates()? {
                self.writes.set_writer(INPUT_WRITER);
                if let Err(c) = self.state.apply(update, &mut self.writes) {
                    self.routes = routes;
                    return Err(self.conflict(c, step, &self.task_names()));
                }
            }
        }
        for (i, update) in updates.drain(..) {
            self.writes.set_writer(i as u32);
            if let Err(c) = self.state.apply(update, &mut self.writes) {
                self.routes = routes;
                return Err(self.conflict(c, step, &self.task_names()));
            }
        }
        self.scratch.updates = updates;
        if let Some(i) = after_apply {
            let node = self.tasks[i].node as usize;
            let mut r = std::mem::take(&mut routes[i]);
            self.eval_routers(node, &self.state, &mut r)?;
            routes[i] = r;
        }
        self.reset_ephemeral();
        self.control.begin_step();
        for (i, t) in self.tasks.iter().enumerate() {
            match self.fallback_of(i) {
                // A handled failure goes to its fallback only, not along the node's edges.
                Some(f) => {
                    routes[i].push(Resolved::Node(f));
                    self.control.finished(shape, usize::MAX, &routes[i]);
                }
                None => self.control.finished(shape, t.node as usize, &routes[i]),
            }
        }
        if let Some(r) = &start_routes {
            self.control.finished(shape, shape.start(), r);
        }
        self.control.end_step(shape);
        self.routes = routes;
        self.step = step;
        self.steps_run += 1;
        self.tally.steps += 1;
        self.saved.clear();
        // Every writer saw the same versions; the last one takes the map itself.
        let mut names = names;
        if start_routes.is_some() {
            names.insert(0, crate::types::START.into());
        }
        let mut versions_seen = SmallMap::with_capacity(names.len());
        if let Some(seen) = seen
            && let Some((last, rest)) = names.split_last()
        {
            for n in rest {
                versions_seen.insert(n.clone(), seen.clone());
            }
            versions_seen.insert(last.clone(), seen);
        }
        self.after_commit(source, names, versions_seen)
    }

    /// Applies START's `input` as the input's write of superstep `step` and returns where
    /// START's routers send the state with it applied.
    fn apply_due_input(&mut self, input: S::Update, step: i64) -> Result<Vec<Resolved>, RunError> {
        let start = self.prog.shape.start();
        let mut routes = Vec::new();
        if !self.prog.shape.out(start).routers.is_empty() {
            let mut view = self.state.clone();
            let mut scratch = StepWrites::new(S::info().channels.len());
            let _ = view.apply(input.clone(), &mut scratch);
            self.eval_routers(start, &view, &mut routes)?;
        }
        self.writes.set_writer(INPUT_WRITER);
        if let Err(c) = self.state.apply(input, &mut self.writes) {
            return Err(self.conflict(c, step, &self.task_names()));
        }
        Ok(routes)
    }

    fn fallback_of(&self, i: usize) -> Option<NodeId> {
        self.fallback.get(i).copied().flatten()
    }

    /// A node's [`Command::to_parent`], as the error that ends this (sub)graph's run.
    fn parent_command(&self, i: usize, c: &Command<S>) -> RunError {
        let node = self.prog.shape.name(self.tasks[i].node).to_string();
        if self.scope.ns.is_empty() {
            return RunError::UnknownNode {
                context: format!(
                    "Command::to_parent from node `{node}` of a graph that was not called as a subgraph"
                ),
                name: "(parent)".into(),
            };
        }
        let update = match &c.update {
            Some(u) => match serde_json::to_value(u) {
                Ok(v) => v,
                Err(e) => return RunError::serde("a command to the parent", e),
            },
            None => serde_json::Value::Object(serde_json::Map::new()),
        };
        let mut goto = Vec::new();
        for t in &c.goto {
            match t {
                crate::types::Target::Node(n) => goto.push(n.to_string()),
                crate::types::Target::End => goto.push(crate::types::END.to_string()),
                crate::types::Target::Send(s) => {
                    return RunError::UnknownNode {
                        context: format!(
                            "Command::to_parent from node `{node}`: a SendTo cannot cross into the parent graph"
                        ),
                        name: s.node().to_string(),
                    };
                }
            }
        }
        RunError::ParentCommand(Box::new(crate::subgraph::ParentCommand { update, goto }))
    }

    fn resolve_command(
        &self,
        i: usize,
        cmd: &Command<S>,
        out: &mut Vec<Resolved>,
    ) -> Result<(), RunError> {
        let shape = &self.prog.shape;
        let node = self.tasks[i].node;
        let declared = shape.goto(node);
        resolve_goto(shape, declared, &cmd.goto, out)
            .map_err(|e| self.route_error(shape.name(node), e))
    }

    /// Resets ephemeral channels that were written in the previous superstep but not in this
    /// one.
    fn reset_ephemeral(&mut self) {
        let info = S::info();
        let prev = std::mem::take(&mut self.eph_prev);
        for ch in prev {
            if !self.writes.is_written(ch) {
                self.state.reset_channel(ch);
                self.writes.replaced(ch);
            }
        }
        self.eph_prev = self
            .writes
            .touched()
            .iter()
            .copied()
            .filter(|&c| info.channels[c].reducer == crate::state::ReducerKind::Ephemeral)
            .collect();
    }

    /// Emits the values event and writes the checkpoint of a committed step.
    pub(crate) fn after_commit(
        &mut self,
        source: Source,
        writers: Vec<SharedStr>,
        versions_seen: SmallMap<SharedStr, SmallMap<SharedStr, SharedStr>>,
    ) -> Result<(), RunError> {
        if let Some(ev) = &mut self.events
            && ev.wants(StreamMode::Values)
            && !self.writes.is_empty()
        {
            ev.push_now(StreamEvent::Values(self.state.clone()));
        }
        let (mut stored, mut unstored) = (None, None);
        if let Some(p) = &mut self.persist {
            p.record(&self.writes);
            if p.durability != Durability::Exit || source != Source::Loop {
                let st = p.put(
                    &self.state,
                    &self.control,
                    &self.prog.shape,
                    source,
                    self.step,
                    writers,
                    versions_seen,
                    None,
                    Vec::new(),
                )?;
                self.base = Some(st.id.clone().into());
                stored = Some(st);
            } else {
                self.unsaved = true;
                let id = p.reserve_id();
                self.base = Some(id.as_ref().into());
                unstored = Some(id);
            }
        }
        if let Some(st) = stored {
            self.checkpoint_event(&st);
        }
        if let Some(id) = unstored {
            self.unstored_checkpoint_event(id, source, self.step, None);
        }
        Ok(())
    }
}
