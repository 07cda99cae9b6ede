//! Tools: functions a model may call. Write one with `#[tool]` on an async fn, or with
//! [`tool_fn`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::ToolSpec;

/// A tool's failure; its message goes back to the model (see
/// [`ToolNode::handle_errors`](crate::ToolNode::handle_errors)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

impl ToolError {
    /// An error with a message.
    pub fn new(message: impl fmt::Display) -> Self {
        Self(message.to_string())
    }
}

impl From<String> for ToolError {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for ToolError {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

/// A function the model may call.
#[async_trait]
pub trait Tool: Send + Sync {
    /// Name, description and argument schema.
    fn spec(&self) -> ToolSpec;
    /// Runs the tool with the model's arguments; the text goes back to the model.
    async fn call(&self, arguments: Value) -> Result<String, ToolError>;
}

/// What a tool returns to the model: text as is, anything else as JSON.
pub trait ToolOutput {
    /// The text the model reads.
    fn into_text(self) -> String;
}

impl ToolOutput for String {
    fn into_text(self) -> String {
        self
    }
}

impl ToolOutput for &str {
    fn into_text(self) -> String {
        self.to_string()
    }
}

/// Any serializable value goes back as JSON.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: Serialize> ToolOutput for Json<T> {
    fn into_text(self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|e| format!("(unserializable: {e})"))
    }
}

type Call = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<String, ToolError>> + Send + Sync>;

/// A tool made of a function over a typed argument struct.
#[derive(Clone)]
pub struct FnTool {
    spec: ToolSpec,
    call: Call,
}

impl fmt::Debug for FnTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnTool").field("spec", &self.spec).finish()
    }
}

#[async_trait]
impl Tool for FnTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }
    async fn call(&self, arguments: Value) -> Result<String, ToolError> {
        (self.call)(arguments).await
    }
}

/// A tool from an async function of typed arguments `A` (the argument schema comes from `A`).
///
/// ```
/// use langgraph_llm::{tool_fn, Tool, ToolError};
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Args { city: String }
/// let weather = tool_fn("weather", "Current weather for a city.", |a: Args| async move {
///     Ok::<_, ToolError>(format!("sunny in {}", a.city))
/// });
/// assert_eq!(weather.spec().parameters["properties"]["city"]["type"], "string");
/// let out = futures::executor::block_on(weather.call(serde_json::json!({"city": "Paris"})));
/// assert_eq!(out.unwrap(), "sunny in Paris");
/// let bad = futures::executor::block_on(weather.call(serde_json::json!({"town": "Paris"})));
/// assert!(bad.unwrap_err().0.contains("city"));
/// ```
pub fn tool_fn<A, O, F, Fut>(name: &str, description: &str, f: F) -> Arc<dyn Tool>
where
    A: DeserializeOwned + JsonSchema + Send + 'static,
    O: ToolOutput,
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
{
    let f = Arc::new(f);
    let tool_name = name.to_string();
    let call: Call = Arc::new(move |args: Value| {
        let f = f.clone();
        let tool_name = tool_name.clone();
        Box::pin(async move {
            let a: A = serde_json::from_value(args)
                .map_err(|e| ToolError(format!("invalid arguments for `{tool_name}`: {e}")))?;
            f(a).await.map(ToolOutput::into_text)
        })
    });
    Arc::new(FnTool {
        spec: ToolSpec {
            name: name.to_string(),
            description: description.trim().to_string(),
            parameters: arguments_schema::<A>(),
        },
        call,
    })
}

/// The JSON schema of a tool's argument struct, as providers want it (an object, no
/// `$schema`).
pub fn arguments_schema<A: JsonSchema>() -> Value {
    let mut v = schemars::schema_for!(A).to_value();
    if let Some(o) = v.as_object_mut() {
        o.remove("$schema");
        o.remove("title");
        o.entry("type").or_insert(Value::String("object".into()));
        o.entry("properties")
            .or_insert(Value::Object(serde_json::Map::new()));
    }
    v
}
