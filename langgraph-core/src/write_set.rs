//! Tracking the writes of one superstep: last-value conflicts and what changed, for versions
//! and incremental checkpoints.

/// Identifies who wrote: a task of the superstep (its index in execution order) or the run's
/// input.
pub type WriterId = u32;

/// The writer id used for the run's input and for `update_state`.
pub const INPUT_WRITER: WriterId = u32::MAX;

/// How a channel changed within a superstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelChange {
    /// Only items were appended; `from` is the length before the first append.
    Appended {
        /// Item count before the superstep's first append.
        from: usize,
    },
    /// The value was replaced or changed in place.
    Replaced,
}

/// The channels an update writes with `overwrite_*` (bypassing their reducers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverwriteSet(Vec<usize>);

impl OverwriteSet {
    /// Marks channel `channel`.
    pub fn insert(&mut self, channel: usize) {
        if !self.0.contains(&channel) {
            self.0.push(channel);
        }
    }
    /// True when channel `channel` is marked.
    pub fn contains(&self, channel: usize) -> bool {
        self.0.contains(&channel)
    }
    /// True when no channel is marked.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Two writes to a last-value channel in one superstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteConflict {
    /// The channel index.
    pub channel: usize,
    /// The writer that wrote first.
    pub first: WriterId,
    /// The writer that wrote again.
    pub second: WriterId,
}

/// The writes of one superstep, reused across supersteps without reallocating.
#[derive(Debug, Clone, Default)]
pub struct StepWrites {
    writer: WriterId,
    /// Per channel: the last-value writer in this superstep (the input's too).
    last_value_by: Vec<Option<WriterId>>,
    /// Per channel: the change in this superstep (None = untouched).
    change: Vec<Option<ChannelChange>>,
    /// Channels written in this superstep, in order of first write.
    touched: Vec<usize>,
}

impl StepWrites {
    /// A tracker for a state with `channels` channels.
    pub fn new(channels: usize) -> Self {
        Self {
            writer: INPUT_WRITER,
            last_value_by: vec![None; channels],
            change: vec![None; channels],
            touched: Vec::new(),
        }
    }

    /// Sets who the following writes belong to.
    pub fn set_writer(&mut self, writer: WriterId) {
        self.writer = writer;
    }

    /// Records a write to a last-value channel; fails if another writer already wrote it in
    /// this superstep.
    pub fn last_value(&mut self, channel: usize) -> Result<(), WriteConflict> {
        match self.last_value_by[channel] {
            Some(first) if first != self.writer => {
                return Err(WriteConflict {
                    channel,
                    first,
                    second: self.writer,
                });
            }
            // The same writer writing twice (an update applied twice): not a conflict.
            Some(_) => return Ok(()),
            None => {}
        }
        self.last_value_by[channel] = Some(self.writer);
        self.mark(channel, ChannelChange::Replaced);
        Ok(())
    }

    /// Records that items were appended to a channel that held `len_before` items.
    pub fn appended(&mut self, channel: usize, len_before: usize) {
        self.mark(channel, ChannelChange::Appended { from: len_before });
    }

    /// Records that a channel was replaced or changed in place.
    pub fn replaced(&mut self, channel: usize) {
        self.mark(channel, ChannelChange::Replaced);
    }

    fn mark(&mut self, channel: usize, change: ChannelChange) {
        match (&mut self.change[channel], change) {
            (slot @ None, c) => {
                *slot = Some(c);
                self.touched.push(channel);
            }
            // An earlier append keeps its start; a replace anywhere wins.
            (Some(ChannelChange::Appended { .. }), ChannelChange::Appended { .. }) => {}
            (slot, _) => *slot = Some(ChannelChange::Replaced),
        }
    }

    /// The channels written in this superstep, in order of first write.
    pub fn touched(&self) -> &[usize] {
        &self.touched
    }

    /// How channel `channel` changed in this superstep.
    pub fn change(&self, channel: usize) -> Option<ChannelChange> {
        self.change.get(channel).copied().flatten()
    }

    /// True when channel `channel` was written in this superstep.
    pub fn is_written(&self, channel: usize) -> bool {
        self.change(channel).is_some()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.touched.is_empty()
    }

    /// Forgets this superstep's writes (O(channels written)).
    pub fn clear(&mut self) {
        for &c in &self.touched {
            self.last_value_by[c] = None;
            self.change[c] = None;
        }
        self.touched.clear();
        self.writer = INPUT_WRITER;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_last_value_writer_conflicts() {
        let mut w = StepWrites::new(3);
        w.set_writer(0);
        w.last_value(1).unwrap();
        w.last_value(1).unwrap(); // same writer again is fine
        w.set_writer(1);
        let e = w.last_value(1).unwrap_err();
        assert_eq!((e.channel, e.first, e.second), (1, 0, 1));
        w.last_value(2).unwrap();
        assert_eq!(w.touched(), &[1, 2]);
    }

    #[test]
    fn the_input_conflicts_with_a_task_like_any_writer() {
        let mut w = StepWrites::new(2);
        w.set_writer(INPUT_WRITER);
        w.last_value(0).unwrap();
        w.set_writer(0);
        let e = w.last_value(0).unwrap_err();
        assert_eq!((e.first, e.second), (INPUT_WRITER, 0));
        w.clear();
        w.set_writer(0);
        w.last_value(0).unwrap();
    }

    #[test]
    fn appends_keep_first_start_and_replace_wins() {
        let mut w = StepWrites::new(2);
        w.appended(0, 3);
        w.appended(0, 5);
        assert_eq!(w.change(0), Some(ChannelChange::Appended { from: 3 }));
        w.replaced(0);
        w.appended(0, 9);
        assert_eq!(w.change(0), Some(ChannelChange::Replaced));
        assert!(!w.is_written(1));
    }

    #[test]
    fn overwrite_set() {
        let mut o = OverwriteSet::default();
        assert!(o.is_empty());
        o.insert(3);
        o.insert(3);
        assert!(o.contains(3) && !o.contains(1));
    }

    #[test]
    fn clear_resets_only_touched() {
        let mut w = StepWrites::new(2);
        w.set_writer(4);
        w.last_value(0).unwrap();
        w.clear();
        assert!(w.is_empty());
        w.set_writer(5);
        w.last_value(0).unwrap();
        assert_eq!(w.touched(), &[0]);
    }
}
