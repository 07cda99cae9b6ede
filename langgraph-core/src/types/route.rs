//! `Route`: what a router returns.

use std::borrow::Cow;

use super::END;
use super::send::SendTo;

/// One destination of a route.
#[derive(Debug, Clone)]
pub enum Target {
    /// Run this node in the next superstep (or finish the branch if it is [`END`]).
    Node(Cow<'static, str>),
    /// Finish this branch.
    End,
    /// Run a task with its own input.
    Send(SendTo),
}

impl Target {
    pub(crate) fn node(name: impl Into<Cow<'static, str>>) -> Self {
        let name = name.into();
        if name == END {
            Self::End
        } else {
            Self::Node(name)
        }
    }
}

/// Where a branch goes after a node: one node, several nodes in parallel, [`END`], or `Send`s.
///
/// ```
/// use langgraph_core::{Route, SendTo, END};
/// let r = Route::to("write");
/// assert_eq!(r.node_names(), ["write"]);
/// assert!(Route::to(END).is_end());
/// let fan = Route::send_all((0..3).map(|i| SendTo::new("worker", i)));
/// assert_eq!(fan.targets().len(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct Route(RouteRepr);

#[derive(Debug, Clone)]
enum RouteRepr {
    One(Target),
    Many(Vec<Target>),
}

impl Route {
    /// Go to one node (or `END`).
    pub fn to(node: impl Into<Cow<'static, str>>) -> Self {
        Self(RouteRepr::One(Target::node(node)))
    }

    /// Finish this branch.
    pub fn end() -> Self {
        Self(RouteRepr::One(Target::End))
    }

    /// Go to several nodes; they run in parallel in the next superstep.
    pub fn to_all<N: Into<Cow<'static, str>>>(nodes: impl IntoIterator<Item = N>) -> Self {
        Self(RouteRepr::Many(
            nodes.into_iter().map(|n| Target::node(n)).collect(),
        ))
    }

    /// Run `node` with its own input `arg`.
    pub fn send<T: super::SendArg>(node: impl Into<Cow<'static, str>>, arg: T) -> Self {
        Self(RouteRepr::One(Target::Send(SendTo::new(node, arg))))
    }

    /// Run one task per `SendTo`, in emission order.
    pub fn send_all(sends: impl IntoIterator<Item = SendTo>) -> Self {
        Self(RouteRepr::Many(
            sends.into_iter().map(Target::Send).collect(),
        ))
    }

    /// A route built from arbitrary targets (nodes and sends mixed).
    pub fn targets_from(targets: impl IntoIterator<Item = Target>) -> Self {
        Self(RouteRepr::Many(targets.into_iter().collect()))
    }

    /// Adds a target.
    pub fn and(self, other: impl IntoRoute) -> Self {
        let mut v = self.into_targets();
        v.extend(other.into_route().into_targets());
        Self(RouteRepr::Many(v))
    }

    /// The destinations.
    pub fn targets(&self) -> &[Target] {
        match &self.0 {
            RouteRepr::One(t) => std::slice::from_ref(t),
            RouteRepr::Many(v) => v,
        }
    }

    /// The destinations, by value.
    pub fn into_targets(self) -> Vec<Target> {
        match self.0 {
            RouteRepr::One(t) => vec![t],
            RouteRepr::Many(v) => v,
        }
    }

    /// The names of the node destinations (not `END`, not sends).
    pub fn node_names(&self) -> Vec<&str> {
        self.targets()
            .iter()
            .filter_map(|t| match t {
                Target::Node(n) => Some(n.as_ref()),
                _ => None,
            })
            .collect()
    }

    /// True when every destination is `END` (or there is none).
    pub fn is_end(&self) -> bool {
        self.targets().iter().all(|t| matches!(t, Target::End))
    }
}

/// What a router may return: a [`Route`], a node name, a list of names or of sends.
#[diagnostic::on_unimplemented(
    message = "a router cannot return `{Self}`",
    note = "return a `Route` (Route::to, Route::end, Route::send_all), a node name (&'static str or String) or a Vec of them"
)]
pub trait IntoRoute {
    /// Converts into a route.
    fn into_route(self) -> Route;
}

impl IntoRoute for Route {
    fn into_route(self) -> Route {
        self
    }
}
impl IntoRoute for &'static str {
    fn into_route(self) -> Route {
        Route::to(self)
    }
}
impl IntoRoute for String {
    fn into_route(self) -> Route {
        Route::to(self)
    }
}
impl IntoRoute for Vec<&'static str> {
    fn into_route(self) -> Route {
        Route::to_all(self)
    }
}
impl IntoRoute for Vec<String> {
    fn into_route(self) -> Route {
        Route::to_all(self)
    }
}
impl IntoRoute for SendTo {
    fn into_route(self) -> Route {
        Route(RouteRepr::One(Target::Send(self)))
    }
}
impl IntoRoute for Vec<SendTo> {
    fn into_route(self) -> Route {
        Route::send_all(self)
    }
}
impl IntoRoute for Vec<Target> {
    fn into_route(self) -> Route {
        Route::targets_from(self)
    }
}
impl IntoRoute for Vec<Route> {
    fn into_route(self) -> Route {
        Route::targets_from(self.into_iter().flat_map(Route::into_targets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_by_name_is_end() {
        assert!(Route::to(END).is_end());
        assert!(Route::end().is_end());
        assert!(!Route::to("a").is_end());
        assert!(Route::to_all(Vec::<&str>::new()).is_end());
    }

    #[test]
    fn mixing_nodes_and_sends_keeps_order() {
        let r = Route::to("normal").and(vec![SendTo::new("w", 3), SendTo::new("w", 1)]);
        let t = r.targets();
        assert!(matches!(&t[0], Target::Node(n) if n == "normal"));
        assert!(matches!(&t[1], Target::Send(s) if s.arg::<i32>() == Some(&3)));
        assert_eq!(r.node_names(), ["normal"]);
        assert_eq!("x".into_route().node_names(), ["x"]);
        assert_eq!(vec!["a", "b"].into_route().node_names(), ["a", "b"]);
        assert_eq!(
            vec![Route::to("a"), Route::to("b")]
                .into_route()
                .node_names(),
            ["a", "b"]
        );
    }
}
