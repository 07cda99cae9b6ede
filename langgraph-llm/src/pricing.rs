//! `Pricing`: what tokens cost, per model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::TokenUsage;

/// The price of a model, per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Per million input (prompt) tokens.
    pub input_per_million: f64,
    /// Per million output (completion) tokens.
    pub output_per_million: f64,
}

/// Prices by model name. A model without a price costs 0 (its tokens are still counted).
///
/// ```
/// use langgraph_llm::{Pricing, TokenUsage};
/// let p = Pricing::new().model("gpt-4o-mini", 0.15, 0.60);
/// let u = TokenUsage { input_tokens: 1_000_000, output_tokens: 500_000 };
/// assert!((p.cost("gpt-4o-mini", &u) - 0.45).abs() < 1e-12);
/// assert_eq!(p.cost("unknown", &u), 0.0);
/// // Dated variants (`gpt-4o-mini-2024-07-18`) use the price of the longest matching prefix.
/// assert!((p.cost("gpt-4o-mini-2024-07-18", &u) - 0.45).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    models: BTreeMap<String, Price>,
}

impl Pricing {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a model's price per million input and output tokens.
    pub fn model(mut self, name: impl Into<String>, input: f64, output: f64) -> Self {
        self.models.insert(
            name.into(),
            Price {
                input_per_million: input,
                output_per_million: output,
            },
        );
        self
    }

    /// The price of `model`: its own, or that of the longest name it starts with.
    pub fn price(&self, model: &str) -> Option<Price> {
        if let Some(p) = self.models.get(model) {
            return Some(*p);
        }
        self.models
            .iter()
            .filter(|(name, _)| model.starts_with(name.as_str()))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, p)| *p)
    }

    /// The cost of `usage` on `model`.
    pub fn cost(&self, model: &str, usage: &TokenUsage) -> f64 {
        self.price(model).map_or(0.0, |p| {
            (usage.input_tokens as f64 * p.input_per_million
                + usage.output_tokens as f64 * p.output_per_million)
                / 1_000_000.0
        })
    }
}
