//! Running one task: attempts under a retry policy and timeout, with interrupt detection.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;

use crate::context::Ctx;
use crate::error::NodeError;
use crate::node::{NodeFuture, NodeOutput, TaskInput};
use crate::pregel::plan::NodeExec;
use crate::state::State;
use crate::types::Interrupt;

/// How a task ended.
pub(crate) enum TaskOutcome<S: State> {
    /// The node returned an output.
    Done(NodeOutput<S>),
    /// The node failed (after its retries).
    Failed { error: NodeError, attempts: u32 },
    /// The last attempt exceeded the node's timeout.
    TimedOut { after: Duration, attempts: u32 },
    /// The node called `ctx.interrupt` without an answer (one interrupt), or a subgraph it
    /// called paused (its interrupts; none at a static breakpoint).
    Interrupted(Vec<Interrupt>),
}

pub(crate) enum Attempt<S: State> {
    Ok(NodeOutput<S>),
    Err(NodeError),
    Interrupted,
    TimedOut,
}

/// Polls a node future and completes as soon as the node parks on an unanswered interrupt
/// (the node future is then dropped, like an exception unwinding in LangGraph).
pub(crate) struct Watch<'a, S: State> {
    fut: NodeFuture<'a, S>,
    ctx: &'a Ctx,
}

impl<S: State> Future for Watch<'_, S> {
    type Output = Attempt<S>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Attempt<S>> {
        match Pin::new(&mut self.fut).poll(cx) {
            Poll::Ready(Ok(out)) if !self.ctx.is_interrupted() => Poll::Ready(Attempt::Ok(out)),
            Poll::Ready(Err(e)) if !self.ctx.is_interrupted() => Poll::Ready(Attempt::Err(e)),
            Poll::Ready(_) => Poll::Ready(Attempt::Interrupted),
            Poll::Pending if self.ctx.is_interrupted() => Poll::Ready(Attempt::Interrupted),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn interrupted<S: State>(ctx: &Ctx) -> TaskOutcome<S> {
    TaskOutcome::Interrupted(ctx.take_interrupts())
}

/// A running task. Tasks without a retry policy or timeout (the common case) are a thin
/// wrapper around the node's future; the others are boxed, so that the many tasks of a wide
/// superstep stay small.
pub(crate) enum TaskFut<'a, S: State> {
    Fast(Watch<'a, S>),
    Slow(BoxFuture<'a, TaskOutcome<S>>),
}

impl<S: State> Future for TaskFut<'_, S> {
    type Output = TaskOutcome<S>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<TaskOutcome<S>> {
        match &mut *self {
            TaskFut::Slow(f) => f.as_mut().poll(cx),
            TaskFut::Fast(w) => match Pin::new(&mut *w).poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Attempt::Ok(out)) => Poll::Ready(TaskOutcome::Done(out)),
                Poll::Ready(Attempt::Err(error)) => {
                    Poll::Ready(TaskOutcome::Failed { error, attempts: 1 })
                }
                Poll::Ready(Attempt::Interrupted) => Poll::Ready(interrupted(w.ctx)),
                Poll::Ready(Attempt::TimedOut) => Poll::Ready(TaskOutcome::Failed {
                    error: NodeError::msg("timed out"),
                    attempts: 1,
                }),
            },
        }
    }
}

/// Runs a task to its outcome.
pub(crate) fn run_task<'a, S: State>(
    exec: &'a NodeExec<S>,
    input: TaskInput<'a, S>,
    ctx: &'a Ctx,
) -> TaskFut<'a, S> {
    if exec.retry.is_none() && exec.timeout.is_none() {
        TaskFut::Fast(Watch {
            fut: exec.node.call(input, ctx),
            ctx,
        })
    } else {
        TaskFut::Slow(Box::pin(run_with_policy(exec, input, ctx)))
    }
}

/// Attempts under a retry policy and timeout.
async fn run_with_policy<'a, S: State>(
    exec: &'a NodeExec<S>,
    input: TaskInput<'a, S>,
    ctx: &'a Ctx,
) -> TaskOutcome<S> {
    let mut attempt = 1;
    loop {
        ctx.set_attempt(attempt);
        let fut = Watch {
            fut: exec.node.call(input.reborrow(), ctx),
            ctx,
        };
        let result = match exec.timeout {
            Some(after) => match tokio::time::timeout(after, fut).await {
                Ok(r) => r,
                Err(_) => Attempt::TimedOut,
            },
            None => fut.await,
        };
        let timed_out = matches!(result, Attempt::TimedOut);
        let error = match result {
            Attempt::Ok(out) => return TaskOutcome::Done(out),
            Attempt::Interrupted => return interrupted(ctx),
            Attempt::Err(e) => e,
            Attempt::TimedOut => NodeError::msg(format!(
                "timed out after {:?}",
                exec.timeout.unwrap_or_default()
            )),
        };
        match &exec.retry {
            Some(p) if attempt < p.max_attempts && p.should_retry(&error) => {
                tracing::debug!(node = ctx.node(), attempt, error = %error, "retrying node");
                tokio::time::sleep(p.delay(attempt)).await;
                ctx.reset_for_retry();
                attempt += 1;
            }
            _ if timed_out => {
                return TaskOutcome::TimedOut {
                    after: exec.timeout.unwrap_or_default(),
                    attempts: attempt,
                };
            }
            _ => {
                return TaskOutcome::Failed {
                    error,
                    attempts: attempt,
                };
            }
        }
    }
}

impl<'a, S> TaskInput<'a, S> {
    pub(crate) fn reborrow(&self) -> TaskInput<'a, S> {
        match self {
            TaskInput::State(s) => TaskInput::State(s),
            TaskInput::Arg(a) => TaskInput::Arg(a),
        }
    }
}
