//! Scenarios 52 and 53: input/output projections and node views over private channels.

use langgraph::prelude::*;
use serde_json::json;

use crate::common::*;

mod s52 {
    use super::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct Overall {
        pub question: String,
        pub scratch: String,
        pub answer: String,
        #[reducer(append)]
        pub steps: Vec<String>,
    }

    /// The graph's input: only `question`.
    #[derive(Projection, Clone, Debug, Serialize, Deserialize)]
    #[projection(of = Overall)]
    pub struct In {
        pub question: String,
    }

    /// The graph's output: only `answer`.
    #[derive(Projection, Clone, Debug, Serialize, Deserialize)]
    #[projection(of = Overall)]
    pub struct Out {
        pub answer: String,
    }
}

#[tokio::test]
async fn s52_input_and_output_projections() {
    use s52::*;
    let exp = expected("52_input_output_schema");
    let log = Log::new();
    let (lt, lr) = (log.clone(), log.clone());
    let g = StateGraph::<Overall>::new()
        .node("think", move |s: &Overall, ctx: &Ctx| {
            lt.add_with(ctx, "think", json!({"saw": s}));
            OverallUpdate::new()
                .scratch(format!("thinking about {}", s.question))
                .steps(vec!["think".into()])
        })
        .node("respond", move |_: &Overall, ctx: &Ctx| {
            lr.add(ctx, "respond");
            OverallUpdate::new()
                .answer("4")
                .steps(vec!["respond".into()])
        })
        .edge(START, "think")
        .edge("think", "respond")
        .edge("respond", END)
        .output::<Out>()
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    let r = invoke(
        &g,
        In {
            question: "2+2?".into(),
        },
        &cfg,
        &log,
        true,
    )
    .await;
    // invoke's result is filtered to the output projection: exactly {"answer": "4"}.
    assert_eq!(r["result"], json!({"answer": "4"}));
    check(&exp, "invoke", &r);
    // The checkpoint holds every channel.
    check(
        &exp,
        "checkpoint_values",
        &state(&g, &cfg, false).await["values"],
    );
    // Streams are not filtered.
    let s = stream(
        &g,
        In {
            question: "2+2?".into(),
        },
        &RunConfig::thread("s"),
        &[StreamMode::Updates, StreamMode::Values],
        &log,
        false,
    )
    .await;
    check(&exp, "stream_updates_values", &s);
    // The reference silently drops input keys outside the input schema; with a typed input
    // projection there is no way to pass them (a compile error), so `think` never sees them.
}

mod s53 {
    use super::*;

    /// The graph state holds the private channel; the public input/output and node views
    /// are projections.
    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        pub user: String,
        pub result: String,
        pub private_note: String,
    }

    #[derive(Projection, Clone, Debug, Serialize, Deserialize)]
    #[projection(of = S)]
    pub struct Public {
        pub user: String,
        pub result: String,
    }

    #[derive(Projection, Clone, Debug, Serialize, Deserialize)]
    #[projection(of = S)]
    pub struct Private {
        pub private_note: String,
    }
}

#[tokio::test]
async fn s53_private_channels_through_node_views() {
    use s53::*;
    let exp = expected("53_private_state_channels");
    let log = Log::new();
    let (la, lb) = (log.clone(), log.clone());
    let g = StateGraph::<S>::new()
        .node_view("a", move |p: Public, ctx: &Ctx| {
            la.add_with(ctx, "a", json!({"saw": p}));
            SUpdate::new().private_note(format!("secret for {}", p.user))
        })
        .node_view("b", move |p: Private, ctx: &Ctx| {
            lb.add_with(ctx, "b", json!({"saw": p}));
            SUpdate::new().result(p.private_note.to_uppercase())
        })
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", END)
        .output::<Public>()
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    let input = Public {
        user: "ada".into(),
        result: String::new(),
    };
    check(&exp, "invoke", &invoke(&g, input, &cfg, &log, true).await);
    check(
        &exp,
        "checkpoint_values",
        &state(&g, &cfg, false).await["values"],
    );
}
