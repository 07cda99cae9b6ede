//! Structured extraction: a graph reads notes, asks the model for an `Invoice` per note, and
//! keeps the ones that validate. The schema (with its bounds) goes to the model; an answer that
//! does not validate is sent back with the errors and asked again.
//!
//! ```text
//! cargo run -p structured-extraction                       # a scripted model
//! scripts/local-llm.sh && OPENAI_BASE_URL=http://127.0.0.1:8089/v1 cargo run -p structured-extraction
//! ```

use langgraph::llm::{Llm, LlmError, Message, OpenAiChat, ScriptedModel};
use langgraph::prelude::*;

/// One invoice mentioned in a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Invoice {
    /// Who pays.
    customer: String,
    /// Amount in euros.
    #[schemars(range(min = 0.0, max = 1_000_000.0))]
    amount: f64,
    /// Days until due.
    #[schemars(range(min = 0, max = 365))]
    due_in_days: u32,
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Extraction {
    notes: Vec<String>,
    #[reducer(append)]
    invoices: Vec<Invoice>,
    #[reducer(append)]
    rejected: Vec<String>,
}

fn model() -> Result<Llm, Box<dyn std::error::Error>> {
    if std::env::var("OPENAI_BASE_URL").is_ok() {
        return Ok(Llm::new(OpenAiChat::from_env()?)
            .temperature(0.2)
            .max_tokens(96));
    }
    // The script answers the first note badly once (a negative amount), then well.
    Ok(Llm::new(
        ScriptedModel::new("scripted")
            .reply(r#"{"customer": "Acme", "amount": -120, "due_in_days": 30}"#)
            .reply(r#"{"customer": "Acme", "amount": 120.5, "due_in_days": 30}"#)
            .reply(r#"{"customer": "Globex", "amount": 99, "due_in_days": 14}"#),
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let llm = model()?;
    let graph = StateGraph::<Extraction>::new()
        .node("extract", move |s: &Extraction, ctx: Ctx| {
            let (llm, notes) = (llm.clone(), s.notes.clone());
            async move {
                let mut update = ExtractionUpdate::new();
                let (mut found, mut rejected) = (Vec::new(), Vec::new());
                for note in notes {
                    let ask = [
                        Message::system("Extract the invoice from the note as JSON: customer, amount (euros), due_in_days."),
                        Message::user(note.clone()),
                    ];
                    match llm.structured::<Invoice>().retries(2).invoke_in(&ctx, &ask).await {
                        Ok(inv) => found.push(inv),
                        Err(LlmError::Structured { attempts, .. }) => {
                            rejected.push(format!("{note} ({} attempts)", attempts.len()))
                        }
                        Err(e) => return Err(NodeError::new(e)),
                    }
                }
                update = update.invoices(found).rejected(rejected);
                Ok(update)
            }
        })
        .edge(START, "extract")
        .edge("extract", END)
        .compile()?;
    let notes = vec![
        "Acme owes us 120.50 EUR, payable within 30 days.".to_string(),
        "Globex: 99 euros, due in two weeks.".to_string(),
    ];
    let out = graph
        .invoke(ExtractionUpdate::new().notes(notes), &RunConfig::new())
        .await?;
    for inv in &out.invoices {
        println!("{inv:?}");
    }
    for r in &out.rejected {
        println!("rejected: {r}");
    }
    let u = out.report.usage();
    println!("{} model calls, {} tokens", u.calls, u.total_tokens());
    Ok(())
}
