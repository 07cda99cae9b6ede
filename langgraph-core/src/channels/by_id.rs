//! The id-aware list merge behind `#[reducer(add_messages)]`.

use crate::write_set::ChannelChange;

/// An item with an optional id, as kept in an id-merged list (chat messages are the typical
/// case; `langgraph-llm` implements this for its `Message`).
#[diagnostic::on_unimplemented(
    message = "`#[reducer(add_messages)]` needs a `Vec` of items with ids, and `{Self}` has none",
    note = "implement `Identified` for the item type (chat messages from `langgraph-llm` do)"
)]
pub trait Identified {
    /// The item's id, if it has one.
    fn id(&self) -> Option<&str>;
    /// Gives the item an id (called for items that arrive without one).
    fn set_id(&mut self, id: String);
    /// True when the item is a removal marker: the stored item with the same id is deleted and
    /// the marker itself is not kept.
    fn is_removal(&self) -> bool {
        false
    }
}

/// Merges `update` into `current` by id: an item whose id is already present replaces it in
/// place, a removal marker deletes the item with its id, an item without an id gets a fresh
/// UUID, and everything else is appended in order.
///
/// Returns how the list changed: [`ChannelChange::Appended`] when items were only appended,
/// which lets a checkpointer store the tail as a delta.
///
/// ```
/// use langgraph_core::channels::{Identified, add_by_id};
/// #[derive(Debug, Clone, PartialEq)]
/// struct Msg { id: Option<String>, text: &'static str }
/// impl Identified for Msg {
///     fn id(&self) -> Option<&str> { self.id.as_deref() }
///     fn set_id(&mut self, id: String) { self.id = Some(id) }
/// }
/// let mut list = vec![Msg { id: Some("1".into()), text: "hi" }];
/// add_by_id(&mut list, vec![Msg { id: Some("1".into()), text: "hello" }, Msg { id: None, text: "new" }]);
/// assert_eq!(list[0].text, "hello");
/// assert_eq!(list.len(), 2);
/// assert!(list[1].id.is_some());
/// ```
pub fn add_by_id<T: Identified>(current: &mut Vec<T>, update: Vec<T>) -> ChannelChange {
    let before = current.len();
    let mut only_appended = true;
    for mut item in update {
        if item.id().is_none() {
            item.set_id(uuid::Uuid::new_v4().to_string());
        }
        let pos = item
            .id()
            .and_then(|id| current.iter().position(|c| c.id() == Some(id)));
        match (pos, item.is_removal()) {
            (Some(i), true) => {
                current.remove(i);
                only_appended = false;
            }
            (None, true) => {}
            (Some(i), false) => {
                if i < before {
                    only_appended = false;
                }
                current[i] = item;
            }
            (None, false) => current.push(item),
        }
    }
    if only_appended {
        ChannelChange::Appended { from: before }
    } else {
        ChannelChange::Replaced
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct M {
        id: Option<String>,
        body: &'static str,
        remove: bool,
    }
    impl Identified for M {
        fn id(&self) -> Option<&str> {
            self.id.as_deref()
        }
        fn set_id(&mut self, id: String) {
            self.id = Some(id);
        }
        fn is_removal(&self) -> bool {
            self.remove
        }
    }
    fn m(id: &str, body: &'static str) -> M {
        M {
            id: Some(id.into()),
            body,
            remove: false,
        }
    }

    #[test]
    fn appends_replaces_and_removes() {
        let mut l = vec![m("1", "a"), m("2", "b")];
        assert_eq!(
            add_by_id(&mut l, vec![m("3", "c")]),
            ChannelChange::Appended { from: 2 }
        );
        assert_eq!(
            add_by_id(&mut l, vec![m("2", "B")]),
            ChannelChange::Replaced
        );
        assert_eq!(l[1].body, "B");
        let rm = M {
            id: Some("1".into()),
            body: "",
            remove: true,
        };
        assert_eq!(add_by_id(&mut l, vec![rm]), ChannelChange::Replaced);
        assert_eq!(l.iter().map(|x| x.body).collect::<Vec<_>>(), ["B", "c"]);
    }

    #[test]
    fn replacing_an_item_appended_in_the_same_update_is_still_an_append() {
        let mut l = vec![m("1", "a")];
        let ch = add_by_id(&mut l, vec![m("2", "b"), m("2", "b2")]);
        assert_eq!(ch, ChannelChange::Appended { from: 1 });
        assert_eq!(l[1].body, "b2");
    }
}
