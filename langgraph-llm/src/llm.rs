//! `Llm`: a chat model as the graph uses it. Every call made through it from a node checks
//! the run's budget first, streams its tokens into the run's `messages` stream, records its
//! tokens and cost on the task, retries rate limits and server errors, and is traced.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use langgraph_core::{Budget, BudgetExceeded, Ctx, Interrupt, OnExceeded, Usage};
use serde_json::json;
use tracing::Instrument;

use crate::error::LlmError;
use crate::message::Message;
use crate::model::{ChatModel, ChatRequest, ChatResponse, ChunkAccumulator};
use crate::pricing::Pricing;
use crate::structured::Structured;

/// A chat model with its pricing and retry policy; cheap to clone.
///
/// ```
/// use langgraph_llm::{Llm, Message, Pricing, ScriptedModel};
/// let llm = Llm::new(ScriptedModel::new("m").reply("hello"))
///     .pricing(Pricing::new().model("m", 1.0, 2.0));
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let r = rt.block_on(llm.invoke(&[Message::user("hi")])).unwrap();
/// assert_eq!(r.message.content, "hello");
/// ```
#[derive(Clone)]
pub struct Llm {
    model: Arc<dyn ChatModel>,
    pricing: Arc<Pricing>,
    retries: u32,
    backoff: Duration,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    seed: Option<i64>,
}

impl std::fmt::Debug for Llm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llm")
            .field("model", &self.model.model_name())
            .field("retries", &self.retries)
            .finish()
    }
}

impl Llm {
    /// Wraps a model (no pricing: costs are 0; 3 retries of transient errors).
    pub fn new(model: impl ChatModel + 'static) -> Self {
        Self::from_arc(Arc::new(model))
    }

    /// Wraps a shared model.
    pub fn from_arc(model: Arc<dyn ChatModel>) -> Self {
        Self {
            model,
            pricing: Arc::new(Pricing::new()),
            retries: 3,
            backoff: Duration::from_millis(200),
            temperature: None,
            max_tokens: None,
            seed: None,
        }
    }

    /// Sampling temperature for requests that do not set one.
    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self
    }

    /// Token ceiling for requests that do not set one.
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }

    /// Seed for requests that do not set one (reproducible sampling where supported).
    pub fn seed(mut self, seed: i64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Prices calls with `pricing`.
    pub fn pricing(mut self, pricing: Pricing) -> Self {
        self.pricing = Arc::new(pricing);
        self
    }

    /// Retries rate limits (429), server errors (5xx), timeouts and broken connections up
    /// to `n` times, with exponential backoff from `first` (default 3, from 200 ms).
    pub fn retries(mut self, n: u32, first: Duration) -> Self {
        self.retries = n;
        self.backoff = first;
        self
    }

    /// The model's name.
    pub fn model_name(&self) -> &str {
        self.model.model_name()
    }

    /// The pricing table.
    pub fn pricing_table(&self) -> &Pricing {
        &self.pricing
    }

    /// A call outside a graph: no budget, no recording.
    pub async fn invoke(&self, messages: &[Message]) -> Result<ChatResponse, LlmError> {
        self.request(None, ChatRequest::new(messages.to_vec()))
            .await
    }

    /// A call from a node: budget, streaming, usage and cost (see the module docs).
    pub async fn invoke_in(
        &self,
        ctx: &Ctx,
        messages: &[Message],
    ) -> Result<ChatResponse, LlmError> {
        self.request(Some(ctx), ChatRequest::new(messages.to_vec()))
            .await
    }

    /// Structured output of type `T`, validated (see [`Structured`]).
    pub fn structured<T>(&self) -> Structured<T> {
        Structured::new(self.clone())
    }

    /// The call behind every other: `ctx` is the node's context, if any.
    pub async fn request(
        &self,
        ctx: Option<&Ctx>,
        mut request: ChatRequest,
    ) -> Result<ChatResponse, LlmError> {
        request.temperature = request.temperature.or(self.temperature);
        request.max_tokens = request.max_tokens.or(self.max_tokens);
        request.seed = request.seed.or(self.seed);
        if let Some(ctx) = ctx {
            check_budget(ctx).await?;
        }
        let model = self.model.model_name().to_string();
        let span = tracing::info_span!(
            "llm.call",
            model = %model,
            input_tokens = tracing::field::Empty,
            output_tokens = tracing::field::Empty,
            cost = tracing::field::Empty,
        );
        let stream = ctx.is_some_and(Ctx::streams_messages);
        let response = async {
            let mut attempt = 0;
            loop {
                let r = if stream {
                    self.streamed(ctx, &request).await
                } else {
                    self.model.generate(&request).await
                };
                match r {
                    Err(e) if e.is_transient() && attempt < self.retries => {
                        let wait = self.backoff * 2u32.saturating_pow(attempt);
                        tracing::warn!(error = %e, attempt, ?wait, "retrying the model call");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    other => break other,
                }
            }
        }
        .instrument(span.clone())
        .await?;
        let cost = self.pricing.cost(&response.model, &response.usage);
        span.record("input_tokens", response.usage.input_tokens);
        span.record("output_tokens", response.usage.output_tokens);
        span.record("cost", cost);
        if let Some(ctx) = ctx {
            ctx.record_usage(Usage {
                input_tokens: response.usage.input_tokens,
                output_tokens: response.usage.output_tokens,
                cost,
                calls: 1,
            });
        }
        Ok(response)
    }

    /// A streamed call: each chunk goes to the run's `messages` stream as it comes.
    async fn streamed(
        &self,
        ctx: Option<&Ctx>,
        request: &ChatRequest,
    ) -> Result<ChatResponse, LlmError> {
        let mut chunks = self.model.generate_stream(request).await?;
        let mut acc = ChunkAccumulator::default();
        let id = uuid::Uuid::new_v4().to_string();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if let Some(ctx) = ctx {
                let payload = json!({"id": id, "model": self.model.model_name(), "chunk": chunk});
                // A stream that is not read any more does not fail the call.
                let _ = ctx.emit_message(payload).await;
            }
            acc.push(&chunk);
        }
        let mut r = acc.finish(self.model.model_name())?;
        r.message.id = Some(id);
        Ok(r)
    }
}

/// Refuses (or pauses before) a call that would go past the run's budget.
pub(crate) async fn check_budget(ctx: &Ctx) -> Result<(), LlmError> {
    while let Some(budget) = ctx.budget() {
        let Some(exceeded) = budget.exceeded(&ctx.run_usage(), ctx.run_elapsed()) else {
            return Ok(());
        };
        match budget.on_exceeded {
            OnExceeded::Fail => return Err(exceeded.into()),
            OnExceeded::Pause => {
                tracing::info!(ceiling = %exceeded.ceiling, "budget reached: pausing the run");
                // The task stops here; a human answers with a raised budget.
                let raised: Budget = ctx
                    .interrupt(&exceeded)
                    .await
                    .map_err(|e| LlmError::Config(format!("the new budget: {e}")))?;
                if raised == budget {
                    return Err(exceeded.into());
                }
                ctx.set_budget(raised);
            }
        }
    }
    Ok(())
}

/// Reading interrupts the LLM layer raises.
pub trait InterruptExt {
    /// The budget ceiling behind this interrupt, if a budget raised it.
    fn budget_exceeded(&self) -> Option<BudgetExceeded>;
}

impl InterruptExt for Interrupt {
    fn budget_exceeded(&self) -> Option<BudgetExceeded> {
        serde_json::from_value(self.value.clone()).ok()
    }
}
