//! PostgreSQL test helpers: the server URL and savers in throwaway schemas.

use langgraph::{PostgresOptions, PostgresSaver};

/// The server of the tests: `DATABASE_URL`, or the local development server.
pub fn url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh schema name for a test.
pub fn schema_name(tag: &str) -> String {
    format!("lgt_{tag}_{}", uuid::Uuid::new_v4().simple())
}

/// Drops a schema (best effort, on its own thread and runtime: callers may be inside one).
pub fn drop_schema(schema: &str) {
    let (url, schema) = (url(), schema.to_string());
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
            }
        });
    })
    .join();
}

/// A saver in a fresh schema, dropped with it.
pub struct Scoped {
    pub saver: PostgresSaver,
    pub schema: String,
}

impl Scoped {
    pub async fn new(tag: &str) -> Self {
        Self::with(tag, PostgresOptions::default()).await
    }

    pub async fn with(tag: &str, opts: PostgresOptions) -> Self {
        let schema = schema_name(tag);
        let saver = PostgresSaver::connect_with(&url(), opts.schema(schema.clone()))
            .await
            .unwrap();
        Self { saver, schema }
    }
}

impl Drop for Scoped {
    fn drop(&mut self) {
        drop_schema(&self.schema);
    }
}
