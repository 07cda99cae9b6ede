//! Pruning threads (`Checkpointer::prune`) under real graphs, in memory, on SQLite and on
//! PostgreSQL: a thread pruned at every pause and between turns reads and resumes exactly as
//! its unpruned twin (subgraphs paused inside, per-thread subgraph histories, a per-thread
//! subgraph as a node of the caller's state, edits, a parallel sibling's pending write,
//! ephemeral values). Storage, fencing and races are in `prune_storage.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use langgraph::prelude::*;

#[path = "support/store.rs"]
#[macro_use]
mod store;
use store::Store;

/// The helper's state: everything said to it.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Chat {
    #[reducer(append)]
    said: Vec<String>,
}

/// The parent's state: the helper's transcripts and the notes taken beside them.
#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Turns {
    #[reducer(append)]
    replies: Vec<String>,
    #[reducer(append)]
    notes: Vec<String>,
}

/// How often each node ran.
#[derive(Clone, Default)]
struct Runs {
    listen: Arc<AtomicUsize>,
    note: Arc<AtomicUsize>,
}

impl Runs {
    fn counts(&self) -> (usize, usize) {
        (
            self.listen.load(Ordering::SeqCst),
            self.note.load(Ordering::SeqCst),
        )
    }
}

/// The helper: START -> listen -> confirm (asks "ok?") -> END.
fn helper(runs: &Runs, persistence: Persistence) -> StateGraph<Chat> {
    let listen = runs.listen.clone();
    StateGraph::<Chat>::new()
        .node("listen", move |_: &Chat| {
            listen.fetch_add(1, Ordering::SeqCst);
            ChatUpdate::new().said(vec!["listen".into()])
        })
        .node("confirm", |_: &Chat, ctx: Ctx| async move {
            let answer = ctx.interrupt::<String>("ok?").await?;
            Ok::<_, NodeError>(ChatUpdate::new().said(vec![format!("confirm:{answer}")]))
        })
        .edge(START, "listen")
        .edge("listen", "confirm")
        .edge("confirm", END)
        .persistence(persistence)
}

/// START -> (talk, note) -> END: talk says the last reply to the helper and records its
/// transcript; note runs beside it (its write waits as a pending write while talk asks).
fn app(
    saver: Arc<dyn Checkpointer>,
    runs: &Runs,
    persistence: Persistence,
) -> CompiledGraph<Turns> {
    let sub = helper(runs, persistence)
        .compile_with_shared(saver.clone())
        .unwrap();
    let note = runs.note.clone();
    StateGraph::<Turns>::new()
        .node("talk", move |s: &Turns, ctx: Ctx| {
            let sub = sub.clone();
            let line = s.replies.last().cloned().unwrap_or_default();
            async move {
                let out = ctx.invoke(&sub, ChatUpdate::new().said(vec![line])).await?;
                Ok::<_, NodeError>(TurnsUpdate::new().replies(vec![out.said.join(",")]))
            }
        })
        .node("note", move |s: &Turns| {
            note.fetch_add(1, Ordering::SeqCst);
            TurnsUpdate::new().notes(vec![format!("note{}", s.notes.len())])
        })
        .edge(START, "talk")
        .edge(START, "note")
        .edge("talk", END)
        .edge("note", END)
        .compile_with_shared(saver)
        .unwrap()
}

fn say(line: &str) -> TurnsUpdate {
    TurnsUpdate::new().replies(vec![line.to_string()])
}

/// Two turns, each paused by the helper, an edit while the first asks; with `prune`, the
/// thread is pruned at every pause and after every turn. Returns what a user sees at each
/// step and how often the nodes ran.
async fn script(
    saver: Arc<dyn Checkpointer>,
    thread: &str,
    persistence: Persistence,
    prune: bool,
) -> (Vec<String>, (usize, usize)) {
    let runs = Runs::default();
    let g = app(saver.clone(), &runs, persistence);
    let cfg = RunConfig::thread(thread).durability(Durability::Sync);
    let mut seen = Vec::new();
    let pruned = || async {
        if prune {
            saver.prune(&[thread], Prune::KeepLatest).await.unwrap();
        }
    };
    let look = |seen: &mut Vec<String>, what: String| seen.push(what);
    let out = g.invoke(say("hello"), &cfg).await.unwrap();
    look(&mut seen, format!("{:?} {:?}", out.is_interrupted(), *out));
    pruned().await;
    let st = g.get_state(&cfg).await.unwrap();
    // Interrupt ids and namespaces name checkpoints, which differ from thread to thread.
    let asked: Vec<_> = st.interrupts.iter().map(|i| (&i.value, &i.node)).collect();
    look(
        &mut seen,
        format!("{:?} {:?} {asked:?}", st.values, st.next),
    );
    g.update_state(&cfg, say("edited"), None).await.unwrap();
    pruned().await;
    let out = g.resume(&cfg, "yes").await.unwrap();
    look(&mut seen, format!("{:?} {:?}", out.is_interrupted(), *out));
    pruned().await;
    let out = g.invoke(say("again"), &cfg).await.unwrap();
    look(&mut seen, format!("{:?} {:?}", out.is_interrupted(), *out));
    pruned().await;
    let out = g.resume(&cfg, "no").await.unwrap();
    look(&mut seen, format!("{:?} {:?}", out.is_interrupted(), *out));
    pruned().await;
    let st = g.get_state(&cfg).await.unwrap();
    look(&mut seen, format!("{:?} {:?}", st.values, st.next));
    (seen, runs.counts())
}

async fn reads_and_resumes_as_its_twin(saver: Arc<dyn Checkpointer>) {
    for persistence in [Persistence::PerInvocation, Persistence::PerThread] {
        let tag = format!("{persistence:?}");
        let (twin, twin_runs) =
            script(saver.clone(), &format!("twin-{tag}"), persistence, false).await;
        let (pruned, pruned_runs) =
            script(saver.clone(), &format!("pruned-{tag}"), persistence, true).await;
        assert_eq!(pruned, twin, "{tag}");
        // The nodes ran as often as on the unpruned thread: no finished task ran again.
        assert_eq!(pruned_runs, twin_runs, "{tag}");
        let history = |t: String| {
            let saver = saver.clone();
            async move { saver.list(&t, "", &Default::default()).await.unwrap().len() }
        };
        assert_eq!(history(format!("pruned-{tag}")).await, 1, "{tag}");
        assert!(history(format!("twin-{tag}")).await > 6, "{tag}");
    }
    // The helper's history per thread: the pruned one remembers both turns in one checkpoint.
    let per_thread = |t: &str| {
        let saver = saver.clone();
        let t = t.to_string();
        async move { saver.list(&t, "talk", &Default::default()).await.unwrap() }
    };
    let twin = per_thread("twin-PerThread").await;
    let pruned = per_thread("pruned-PerThread").await;
    assert_eq!(pruned.len(), 1);
    assert_eq!(pruned[0].values, twin[0].values);
    let said = pruned[0].values["said"].as_array().unwrap();
    for line in ["hello", "confirm:yes", "confirm:no"] {
        assert!(said.contains(&json!(line)), "{said:?}");
    }
}

#[tokio::test]
async fn a_pruned_thread_reads_and_resumes_as_its_twin_in_memory() {
    reads_and_resumes_as_its_twin(Arc::new(InMemorySaver::new())).await;
}

async fn twin_on(store: &Store) {
    reads_and_resumes_as_its_twin(store.open().await).await;
}

on_both!(twin_on:
    a_pruned_thread_reads_and_resumes_as_its_twin_on_sqlite,
    a_pruned_thread_reads_and_resumes_as_its_twin_on_postgres);

/// A hint for the next superstep only (ephemeral), and what each node saw of it.
#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Hinted {
    #[state(ephemeral)]
    hint: Option<String>,
    #[reducer(append)]
    seen: Vec<String>,
}

/// START -> a (hints) -> b -> c -> END, paused before every node after `a`.
fn hinted(saver: Arc<dyn Checkpointer>) -> CompiledGraph<Hinted> {
    let saw = |name: &'static str| {
        move |s: &Hinted| HintedUpdate::new().seen(vec![format!("{name}:{:?}", s.hint)])
    };
    StateGraph::<Hinted>::new()
        .node("a", |_: &Hinted| {
            HintedUpdate::new()
                .hint(Some("for b".into()))
                .seen(vec!["a".into()])
        })
        .node("b", saw("b"))
        .node("c", saw("c"))
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", "c")
        .edge("c", END)
        .interrupt_before(["b", "c"])
        .compile_with_shared(saver)
        .unwrap()
}

/// A value written in the checkpoint's own superstep stays fresh when the thread is pruned: the
/// ephemeral hint reaches `b` only, pruned at every pause or not.
async fn keeps_what_is_fresh(saver: Arc<dyn Checkpointer>) {
    let g = hinted(saver.clone());
    let mut outs = Vec::new();
    for (thread, prune) in [("hint-twin", false), ("hint-pruned", true)] {
        let cfg = RunConfig::thread(thread).durability(Durability::Sync);
        let mut out = g.invoke(HintedUpdate::new(), &cfg).await.unwrap();
        while out.is_interrupted() {
            if prune {
                saver.prune(&[thread], Prune::KeepLatest).await.unwrap();
            }
            out = g.continue_run(&cfg).await.unwrap();
        }
        outs.push(out.into_value());
    }
    assert_eq!(outs[1], outs[0]);
    assert_eq!(outs[0].seen, ["a", "b:Some(\"for b\")", "c:None"]);
}

#[tokio::test]
async fn an_ephemeral_value_stays_as_fresh_as_it_was_in_memory() {
    keeps_what_is_fresh(Arc::new(InMemorySaver::new())).await;
}

async fn fresh_on(store: &Store) {
    keeps_what_is_fresh(store.open().await).await;
}

on_both!(fresh_on:
    an_ephemeral_value_stays_as_fresh_as_it_was_on_sqlite,
    an_ephemeral_value_stays_as_fresh_as_it_was_on_postgres);

/// A chat line, merged by id.
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

/// The state of a chat and of its agent, a per-thread subgraph node of the same state.
#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Talk {
    #[reducer(add_messages)]
    lines: Vec<Line>,
    #[reducer(append)]
    log: Vec<String>,
}

/// START -> agent -> END; the agent replies, then asks "send?" before it logs the answer.
fn talk(saver: Arc<dyn Checkpointer>) -> (CompiledGraph<Talk>, CompiledGraph<Talk>) {
    let agent = StateGraph::<Talk>::new()
        .node("reply", |s: &Talk| {
            let n = s.lines.len();
            let text = format!("{n} lines seen");
            TalkUpdate::new()
                .lines(vec![Line {
                    id: Some(format!("r{n}")),
                    text,
                }])
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

/// A per-thread subgraph node of the caller's state hands back what its nodes changed in the
/// turn; a resume finds where the turn started in the subgraph's history, which the prune
/// keeps while the turn is in progress.
async fn hands_back_its_turn(saver: Arc<dyn Checkpointer>) {
    let (g, agent) = talk(saver.clone());
    let mut seen = Vec::new();
    for (thread, prune) in [("talk-twin", false), ("talk-pruned", true)] {
        let cfg = RunConfig::thread(thread).durability(Durability::Sync);
        let pruned = || async {
            if prune {
                saver.prune(&[thread], Prune::KeepLatest).await.unwrap();
            }
        };
        let mut last = Talk::default();
        for (id, text, answer) in [("u1", "hi", "yes"), ("u2", "and you", "no")] {
            let input = TalkUpdate::new().lines(vec![Line {
                id: Some(id.into()),
                text: text.into(),
            }]);
            assert!(g.invoke(input, &cfg).await.unwrap().is_interrupted());
            pruned().await;
            last = g.resume(&cfg, answer).await.unwrap().into_value();
            pruned().await;
        }
        let own = agent
            .get_state(&cfg.clone().checkpoint_ns("agent"))
            .await
            .unwrap()
            .values;
        seen.push((last, own));
    }
    assert_eq!(seen[1], seen[0]);
    let (last, _) = &seen[0];
    assert_eq!(last.lines.len(), 4, "{last:?}");
    assert_eq!(last.log, ["replied", "send:yes", "replied", "send:no"]);
}

#[tokio::test]
async fn a_same_state_per_thread_node_hands_back_its_turn_in_memory() {
    hands_back_its_turn(Arc::new(InMemorySaver::new())).await;
}

async fn turn_on(store: &Store) {
    hands_back_its_turn(store.open().await).await;
}

on_both!(turn_on:
    a_same_state_per_thread_node_hands_back_its_turn_on_sqlite,
    a_same_state_per_thread_node_hands_back_its_turn_on_postgres);
