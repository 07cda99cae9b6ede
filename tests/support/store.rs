//! Where a test's checkpoints live, on SQLite or PostgreSQL, and a macro that runs a test
//! body on both (shared by the test binaries that include it).

use std::sync::Arc;

use langgraph::prelude::*;

#[cfg(feature = "postgres")]
#[path = "pg.rs"]
#[allow(dead_code)] // shared by the test binaries; this one opens its own savers
pub mod pg;

/// Where a test's checkpoints live (SQLite: `store.db` in a directory of its own); [`open`](Store::open) is a new saver on them, as a new
/// process would make.
pub enum Store {
    Sqlite(std::path::PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(pg::Scoped),
}

impl Store {
    pub fn sqlite(name: &str) -> Self {
        let d = std::env::temp_dir().join(format!("lg-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Store::Sqlite(d)
    }

    #[cfg(feature = "postgres")]
    pub async fn postgres(name: &str) -> Self {
        Store::Postgres(pg::Scoped::new(name).await)
    }

    pub async fn open(&self) -> Arc<dyn Checkpointer> {
        match self {
            Store::Sqlite(dir) => Arc::new(SqliteSaver::open(dir.join("store.db")).await.unwrap()),
            #[cfg(feature = "postgres")]
            Store::Postgres(s) => {
                let opts = langgraph::PostgresOptions::default().schema(s.schema.clone());
                Arc::new(
                    langgraph::PostgresSaver::connect_with(&pg::url(), opts)
                        .await
                        .unwrap(),
                )
            }
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Store::Sqlite(dir) = self {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A test on SQLite, and on PostgreSQL when that feature is on.
macro_rules! on_both {
    ($body:ident: $sqlite:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            $body(&Store::sqlite(stringify!($body))).await;
        }

        #[cfg(feature = "postgres")]
        #[tokio::test]
        async fn $postgres() {
            $body(&Store::postgres("store").await).await;
        }
    };
}
