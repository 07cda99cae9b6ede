//! Storage accounting, for benchmarks and capacity planning.

/// Rows and bytes a saver stores for one thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageStats {
    /// Checkpoint rows.
    pub checkpoints: u64,
    /// Bytes of checkpoint rows (checkpoint and metadata).
    pub checkpoint_bytes: u64,
    /// Channel value rows.
    pub blobs: u64,
    /// Bytes of channel values.
    pub blob_bytes: u64,
    /// Pending-write rows.
    pub writes: u64,
    /// Bytes of pending-write values.
    pub write_bytes: u64,
}

impl StorageStats {
    /// Everything stored, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.checkpoint_bytes + self.blob_bytes + self.write_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals() {
        let s = StorageStats {
            checkpoint_bytes: 1,
            blob_bytes: 2,
            write_bytes: 3,
            ..Default::default()
        };
        assert_eq!(s.total_bytes(), 6);
    }
}
