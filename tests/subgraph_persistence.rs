//! Subgraphs that keep a history per thread (`Persistence::PerThread`), on SQLite and on
//! PostgreSQL with a new saver for every call (as a new process would make); under durability
//! `exit`; around a retry; across edits and replays of the caller; cut short as a dying process
//! stops; called by two tasks of one superstep; as a node of the caller's state type; and the
//! enclosing checkpoints every subgraph checkpoint records.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use langgraph::prelude::*;

#[path = "support/store.rs"]
#[macro_use]
mod store;
use store::Store;

/// The helper's state: everything said to it, and what it did.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Chat {
    #[reducer(append)]
    said: Vec<String>,
}

/// The parent's state: the helper's transcript after each turn.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Turns {
    #[reducer(append)]
    replies: Vec<String>,
}

/// Counts the runs of the helper's `listen` node.
#[derive(Clone, Default)]
struct Runs(Arc<AtomicUsize>);

impl Runs {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// The helper: START -> listen -> confirm -> END; confirm asks "ok?" when `asks`.
fn helper(runs: &Runs, asks: bool, persistence: Persistence) -> StateGraph<Chat> {
    let runs = runs.clone();
    StateGraph::<Chat>::new()
        .node("listen", move |_: &Chat| {
            runs.0.fetch_add(1, Ordering::SeqCst);
            ChatUpdate::new().said(vec!["listen".into()])
        })
        .node("confirm", move |_: &Chat, ctx: Ctx| async move {
            let answer = if asks {
                ctx.interrupt::<String>("ok?").await?
            } else {
                "-".to_string()
            };
            Ok::<_, NodeError>(ChatUpdate::new().said(vec![format!("confirm:{answer}")]))
        })
        .edge(START, "listen")
        .edge("listen", "confirm")
        .edge("confirm", END)
        .persistence(persistence)
}

/// START -> talk -> END: talk says the parent's input to the helper and records its
/// transcript. With `fail_once`, talk fails after its first call of the helper.
fn parent(sub: CompiledGraph<Chat>, fail_once: bool) -> StateGraph<Turns> {
    let failed = Arc::new(AtomicUsize::new(0));
    StateGraph::<Turns>::new()
        .node("talk", move |s: &Turns, ctx: Ctx| {
            let (sub, failed) = (sub.clone(), failed.clone());
            let line = s.replies.last().cloned().unwrap_or_default();
            async move {
                let out = ctx.invoke(&sub, ChatUpdate::new().said(vec![line])).await?;
                if fail_once && failed.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(NodeError::msg("flaky"));
                }
                Ok::<_, NodeError>(TurnsUpdate::new().replies(vec![out.said.join(",")]))
            }
        })
        .edge(START, "talk")
        .edge("talk", END)
}

/// The helper (see [`helper`]) called by [`parent`], both on `saver`: (parent, helper).
fn on_saver(
    saver: Arc<dyn Checkpointer>,
    runs: &Runs,
    asks: bool,
    persistence: Persistence,
) -> (CompiledGraph<Turns>, CompiledGraph<Chat>) {
    let sub = helper(runs, asks, persistence)
        .compile_with_shared(saver.clone())
        .unwrap();
    let g = parent(sub.clone(), false)
        .compile_with_shared(saver)
        .unwrap();
    (g, sub)
}

fn memory() -> Arc<dyn Checkpointer> {
    Arc::new(InMemorySaver::new())
}

fn say(line: &str) -> TurnsUpdate {
    TurnsUpdate::new().replies(vec![line.to_string()])
}

async fn remembers_earlier_turns_in_new_processes(store: &Store) {
    let runs = Runs::default();
    let cfg = RunConfig::thread("chat").durability(Durability::Sync);
    // Each call is made by a graph on a new saver, as a new process would.
    let app = |saver| on_saver(saver, &runs, true, Persistence::PerThread);

    let (g, sub) = app(store.open().await);
    let out = g.invoke(say("hello"), &cfg).await.unwrap();
    assert!(out.is_interrupted());
    // The paused task names the helper's namespace: the node's name.
    let task = g.get_state(&cfg).await.unwrap().tasks.remove(0);
    assert_eq!(task.subgraph_ns, "talk");
    let paused = sub
        .get_state(&cfg.clone().checkpoint_ns(task.subgraph_ns))
        .await
        .unwrap();
    assert_eq!(paused.next, ["confirm"]);
    assert_eq!(paused.values.said, ["hello", "listen"]);
    let (g, _) = app(store.open().await);
    let out = g.invoke(Command::resume("yes"), &cfg).await.unwrap();
    assert_eq!(out.replies.last().unwrap(), "hello,listen,confirm:yes");

    let (g, _) = app(store.open().await);
    assert!(g.invoke(say("again"), &cfg).await.unwrap().is_interrupted());
    let (g, sub) = app(store.open().await);
    let out = g.invoke(Command::resume("no"), &cfg).await.unwrap();
    assert_eq!(
        out.replies.last().unwrap(),
        "hello,listen,confirm:yes,again,listen,confirm:no"
    );
    // listen ran once per turn: a resume goes on from the helper's checkpoint.
    assert_eq!(runs.get(), 2);
    // The helper's history is under the calling node's name, one turn after the other.
    let hist = sub
        .state_history(&cfg.clone().checkpoint_ns("talk"), &Default::default())
        .await
        .unwrap();
    let inputs: Vec<i64> = hist
        .iter()
        .filter_map(|s| s.metadata.as_ref())
        .filter(|m| m.source == langgraph::checkpoint::Source::Input)
        .map(|m| m.step)
        .collect();
    assert_eq!(inputs.len(), 2, "two turns start with an input checkpoint");
    assert!(
        inputs[0] > inputs[1],
        "the second turn goes on from the first"
    );
}

on_both!(remembers_earlier_turns_in_new_processes:
    a_per_thread_subgraph_remembers_earlier_turns_on_sqlite,
    a_per_thread_subgraph_remembers_earlier_turns_on_postgres);

async fn goes_on_across_edits_and_replays_in_new_processes(store: &Store) {
    let runs = Runs::default();
    let cfg = RunConfig::thread("chat").durability(Durability::Sync);
    let app = |saver| on_saver(saver, &runs, true, Persistence::PerThread).0;
    let transcript = |out: &Turns| out.replies.last().unwrap().clone();

    assert!(
        app(store.open().await)
            .invoke(say("hello"), &cfg)
            .await
            .unwrap()
            .is_interrupted()
    );
    // Two edits of the parent while the helper asks: the resume answers its question.
    for line in ["edited", "edited again"] {
        let g = app(store.open().await);
        g.update_state(&cfg, say(line), None).await.unwrap();
    }
    let g = app(store.open().await);
    let out = g.invoke(Command::resume("yes"), &cfg).await.unwrap();
    assert_eq!(transcript(&out), "hello,listen,confirm:yes");
    assert_eq!(runs.get(), 1);

    let g = app(store.open().await);
    assert!(g.invoke(say("again"), &cfg).await.unwrap().is_interrupted());
    let out = g.invoke(Command::resume("no"), &cfg).await.unwrap();
    let second_turn = "hello,listen,confirm:yes,again,listen,confirm:no";
    assert_eq!(transcript(&out), second_turn);

    // Replaying the second turn's call runs it from the helper's state before that turn.
    let g = app(store.open().await);
    let before_call = g
        .state_history(&cfg, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.next == ["talk"])
        .and_then(|s| s.checkpoint_id)
        .unwrap();
    let replay = cfg.clone().checkpoint_id(before_call);
    assert!(
        g.invoke(Input::Continue, &replay)
            .await
            .unwrap()
            .is_interrupted()
    );
    let g = app(store.open().await);
    let out = g.invoke(Command::resume("maybe"), &cfg).await.unwrap();
    assert_eq!(
        transcript(&out),
        "hello,listen,confirm:yes,again,listen,confirm:maybe"
    );
    assert_eq!(runs.get(), 3);
}

on_both!(goes_on_across_edits_and_replays_in_new_processes:
    a_per_thread_subgraph_goes_on_across_edits_and_replays_on_sqlite,
    a_per_thread_subgraph_goes_on_across_edits_and_replays_on_postgres);

#[tokio::test]
async fn under_durability_exit_a_per_thread_subgraph_keeps_its_history() {
    let runs = Runs::default();
    let (g, sub) = on_saver(memory(), &runs, false, Persistence::PerThread);
    let cfg = RunConfig::thread("t").durability(Durability::Exit);
    g.invoke(say("a"), &cfg).await.unwrap();
    let out = g.invoke(say("b"), &cfg).await.unwrap();
    assert_eq!(
        out.replies.last().unwrap(),
        "a,listen,confirm:-,b,listen,confirm:-"
    );
    let state = sub
        .get_state(&cfg.clone().checkpoint_ns("talk"))
        .await
        .unwrap();
    assert_eq!(state.values.said.len(), 6);

    // A helper that asks: the pause stores the call, the resume goes on with it.
    let runs = Runs::default();
    let (g, _) = on_saver(memory(), &runs, true, Persistence::PerThread);
    for (line, answer) in [("a", "yes"), ("b", "no")] {
        assert!(g.invoke(say(line), &cfg).await.unwrap().is_interrupted());
        g.invoke(Command::resume(answer), &cfg).await.unwrap();
    }
    let out = g.get_state(&cfg).await.unwrap().values;
    assert_eq!(
        out.replies.last().unwrap(),
        "a,listen,confirm:yes,b,listen,confirm:no"
    );
    assert_eq!(runs.get(), 2);
}

#[tokio::test]
async fn a_retry_around_a_per_thread_subgraph_goes_on_instead_of_starting_a_turn() {
    let runs = Runs::default();
    let sub = helper(&runs, false, Persistence::PerThread)
        .compile()
        .unwrap();
    let policy = RetryPolicy::new(2).initial_interval(Duration::from_millis(1));
    let g = parent(sub, true)
        .retry("talk", policy)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    let out = g.invoke(say("hi"), &cfg).await.unwrap();
    // The second attempt found the first attempt's finished call: no second turn.
    assert_eq!(out.replies.last().unwrap(), "hi,listen,confirm:-");
    assert_eq!(runs.get(), 1);
}

/// A chat line, merged by id in [`Talk::lines`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Line {
    id: Option<String>,
    text: String,
}

impl langgraph::channels::Identified for Line {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn set_id(&mut self, id: String) {
        self.id = Some(id);
    }
}

fn line(id: &str, text: &str) -> Line {
    Line {
        id: Some(id.into()),
        text: text.into(),
    }
}

/// The state of a chat and of its agent, a same-state subgraph node.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Talk {
    #[reducer(add_messages)]
    lines: Vec<Line>,
    #[reducer(append)]
    log: Vec<String>,
}

/// START -> agent -> END, where agent is a per-thread subgraph of the same state: it replies
/// (saying how many lines it has seen) and asks "send?" before it logs the answer.
fn chat(saver: Arc<dyn Checkpointer>) -> (CompiledGraph<Talk>, CompiledGraph<Talk>) {
    let agent = StateGraph::<Talk>::new()
        .node("reply", |s: &Talk| {
            let n = s.lines.len();
            let to = s.lines.last().map(|l| l.text.clone()).unwrap_or_default();
            TalkUpdate::new()
                .lines(vec![line(
                    &format!("r{n}"),
                    &format!("{to}? ({n} lines seen)"),
                )])
                .log(vec!["replied".into()])
        })
        .node("send", |_: &Talk, ctx: Ctx| async move {
            let answer: String = ctx.interrupt("send?").await?;
            Ok::<_, NodeError>(TalkUpdate::new().log(vec![format!("send:{answer}")]))
        })
        .edge(START, "reply")
        .edge("reply", "send")
        .edge("send", END)
        .persistence(Persistence::PerThread)
        .compile_with_shared(saver.clone())
        .unwrap();
    let g = StateGraph::<Talk>::new()
        .subgraph("agent", agent.clone())
        .edge(START, "agent")
        .edge("agent", END)
        .compile_with_shared(saver)
        .unwrap();
    (g, agent)
}

async fn same_state_node_hands_back_its_turn(store: &Store) {
    let cfg = RunConfig::thread("chat").durability(Durability::Sync);
    let texts = |t: &Talk| t.lines.iter().map(|l| l.text.clone()).collect::<Vec<_>>();
    let mut last = Talk::default();
    for (id, text, answer) in [("u1", "hi", "yes"), ("u2", "and you", "no")] {
        let input = TalkUpdate::new().lines(vec![line(id, text)]);
        let (g, _) = chat(store.open().await);
        assert!(g.invoke(input, &cfg).await.unwrap().is_interrupted());
        // A new process answers: the agent goes on with its turn.
        let (g, _) = chat(store.open().await);
        last = g.invoke(Command::resume(answer), &cfg).await.unwrap().value;
    }
    // The caller got each turn's reply once, and its own log without repeats.
    assert_eq!(
        texts(&last),
        [
            "hi",
            "hi? (1 lines seen)",
            "and you",
            "and you? (3 lines seen)"
        ]
    );
    assert_eq!(last.log, ["replied", "send:yes", "replied", "send:no"]);
    // The agent's history: the lines merged by id; its append-only log got the caller's
    // entries again as the second turn's input.
    let (_, agent) = chat(store.open().await);
    let own = agent
        .get_state(&cfg.clone().checkpoint_ns("agent"))
        .await
        .unwrap()
        .values;
    assert_eq!(texts(&own), texts(&last));
    assert_eq!(own.log.len(), 6, "{:?}", own.log);
}

on_both!(same_state_node_hands_back_its_turn:
    a_per_thread_same_state_node_hands_back_its_turn_on_sqlite,
    a_per_thread_same_state_node_hands_back_its_turn_on_postgres);

#[tokio::test]
async fn a_per_invocation_subgraph_starts_over_and_names_its_parent_checkpoint() {
    let runs = Runs::default();
    let (g, sub) = on_saver(memory(), &runs, true, Persistence::PerInvocation);
    let cfg = RunConfig::thread("t");
    g.invoke(say("a"), &cfg).await.unwrap();
    let paused = g.get_state(&cfg).await.unwrap();
    let sub_cfg = cfg
        .clone()
        .checkpoint_ns(paused.tasks[0].subgraph_ns.clone());
    let sub_state = sub.get_state(&sub_cfg).await.unwrap();
    let parents = &sub_state.metadata.as_ref().unwrap().parents;
    assert_eq!(parents.len(), 1);
    assert_eq!(Some(&parents[""]), paused.checkpoint_id.as_ref());
    // Root checkpoints name no parents.
    assert!(paused.metadata.as_ref().unwrap().parents.is_empty());

    g.invoke(Command::resume("y"), &cfg).await.unwrap();
    g.invoke(say("b"), &cfg).await.unwrap();
    let out = g.invoke(Command::resume("z"), &cfg).await.unwrap();
    // Each call started from an empty state.
    assert_eq!(out.replies.last().unwrap(), "b,listen,confirm:z");
}

#[tokio::test]
async fn two_tasks_of_one_superstep_cannot_share_a_per_thread_subgraph() {
    let runs = Runs::default();
    let sub = helper(&runs, false, Persistence::PerThread)
        .compile()
        .unwrap();
    let sends = |lines: &'static [&'static str]| {
        move |_: &Turns| Route::send_all(lines.iter().map(|l| SendTo::new("talk", l.to_string())))
    };
    let fan_out = |lines: &'static [&'static str]| {
        let sub = sub.clone();
        StateGraph::<Turns>::new()
            .node("split", |_: &Turns| TurnsUpdate::new())
            .node_with_input("talk", move |line: String, ctx: Ctx| {
                let sub = sub.clone();
                async move {
                    let out = ctx.invoke(&sub, ChatUpdate::new().said(vec![line])).await?;
                    Ok::<_, NodeError>(TurnsUpdate::new().replies(vec![out.said.join(",")]))
                }
            })
            .edge(START, "split")
            .route("split", sends(lines), ["talk"])
            .edge("talk", END)
            .compile_with(InMemorySaver::new())
            .unwrap()
    };
    // Two sends to the calling node: the second call is refused, and says why.
    let e = fan_out(&["a", "b"])
        .invoke(TurnsUpdate::new(), &RunConfig::thread("t"))
        .await
        .unwrap_err();
    let RunError::Node { node, source, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(node, "talk");
    assert!(
        matches!(
            source.downcast_ref::<RunError>(),
            Some(RunError::SharedSubgraphHistory { ns }) if ns == "talk"
        ),
        "{e}"
    );
    // One send per superstep goes on from the last call, as a node does.
    let g = fan_out(&["a"]);
    let cfg = RunConfig::thread("t");
    g.invoke(TurnsUpdate::new(), &cfg).await.unwrap();
    let out = g.invoke(TurnsUpdate::new(), &cfg).await.unwrap();
    assert_eq!(
        out.replies,
        [
            "a,listen,confirm:-",
            "a,listen,confirm:-,a,listen,confirm:-"
        ]
    );
}

#[tokio::test]
async fn a_per_thread_subgraphs_events_carry_the_nodes_name() {
    use futures::StreamExt;
    let runs = Runs::default();
    let sub = helper(&runs, false, Persistence::PerThread)
        .compile()
        .unwrap();
    let g = parent(sub, false)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    let modes = StreamModes::from(StreamMode::Updates).with_subgraphs();
    for turn in 1..=2 {
        let mut s = g.stream(say("hi"), &cfg, modes);
        let mut from_helper = Vec::new();
        while let Some(ev) = s.next().await {
            if let StreamEvent::Subgraph { ns, payload, .. } = ev.unwrap() {
                from_helper.push((ns, payload));
            }
        }
        // The same namespace in every turn: the helper's history is one.
        let names: Vec<&str> = from_helper.iter().map(|(ns, _)| ns.as_str()).collect();
        assert_eq!(names, ["talk", "talk"], "turn {turn}");
        assert_eq!(
            from_helper[0].1,
            serde_json::json!({"listen": {"said": ["listen"]}})
        );
    }
    assert_eq!(runs.get(), 2);
}

async fn a_call_cut_short_goes_on_in_the_next_process(store: &Store) {
    // The helper: listen, then a slow step; the parent's invoke is dropped while it sleeps,
    // as a process that dies there stops.
    let (listened, slow) = (Runs::default(), Runs::default());
    let app = |saver: Arc<dyn Checkpointer>| {
        let (l, w) = (listened.clone(), slow.clone());
        let sub = StateGraph::<Chat>::new()
            .node("listen", move |_: &Chat| {
                l.0.fetch_add(1, Ordering::SeqCst);
                ChatUpdate::new().said(vec!["listen".into()])
            })
            .node("slow", move |_: &Chat| {
                let w = w.clone();
                async move {
                    if w.0.fetch_add(1, Ordering::SeqCst) == 0 {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    ChatUpdate::new().said(vec!["slow".into()])
                }
            })
            .edge(START, "listen")
            .edge("listen", "slow")
            .edge("slow", END)
            .persistence(Persistence::PerThread)
            .compile_with_shared(saver.clone())
            .unwrap();
        parent(sub, false).compile_with_shared(saver).unwrap()
    };
    let cfg = RunConfig::thread("chat").durability(Durability::Sync);
    let g = app(store.open().await);
    {
        let run = g.invoke(say("a"), &cfg);
        tokio::pin!(run);
        // Polled until the slow step started (listen's checkpoint is stored by then), then
        // dropped.
        while slow.get() == 0 {
            tokio::select! {
                r = &mut run => panic!("the first call must not finish: {r:?}"),
                () = tokio::time::sleep(Duration::from_millis(2)) => {}
            }
        }
    }
    drop(g);
    // The next process goes on: the helper finishes the same turn; listen does not run again.
    let g = app(store.open().await);
    let out = g.invoke(Input::Continue, &cfg).await.unwrap();
    assert_eq!(out.replies.last().unwrap(), "a,listen,slow");
    assert_eq!((listened.get(), slow.get()), (1, 2));
    let out = g.invoke(say("b"), &cfg).await.unwrap();
    assert_eq!(out.replies.last().unwrap(), "a,listen,slow,b,listen,slow");
    assert_eq!((listened.get(), slow.get()), (2, 3));
}

on_both!(a_call_cut_short_goes_on_in_the_next_process:
    a_per_thread_call_cut_short_goes_on_on_sqlite,
    a_per_thread_call_cut_short_goes_on_on_postgres);
